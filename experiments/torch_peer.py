"""PyTorch eager bf16 peer for the end-to-end GPU benchmark (cuda/bench/dit_e2e_bench.cpp, scripts/device.sh).

The model is experiments/wan_dit.py's WanModel, imported as is, in bf16 on the GPU, run through its `fast=True`
path: attention by torch.nn.functional.scaled_dot_product_attention and RoPE from an fp32 cos/sin table (the fp64
complex RoPE of the oracle path is for exactness, not speed). Weights are PyTorch's default initialisation made on
the GPU (values do not change the work; nothing is zero). The peer samples like our benchmark: Euler with CFG 5.0,
two forwards per step (conditional then unconditional, each one sample), flow schedule with shift 5.

Every SDPA backend PyTorch has for these shapes (cuDNN, flash, memory-efficient) is timed on one full forward after
a warm-up one; the fastest is used for the timed steps ("its best SDPA backend"). Time per step: wall clock with
torch.cuda.synchronize around each step, median over the steps after warm-up. Peak memory: max_memory_allocated.

Usage: python3 experiments/torch_peer.py [--preset 1.3b|14b] [--steps 4] [--warmup 2] [--json out.json]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wan_dit import WanModel  # noqa: E402

PRESETS = {  # reference/model/config.cpp presets (docs/dit.md), 480p / 81 frames: latent 21 x 60 x 104
    "1.3b": dict(dim=1536, ffn_dim=8960, num_heads=12, num_layers=30),
    "14b": dict(dim=5120, ffn_dim=13824, num_heads=40, num_layers=40),
}
COMMON = dict(freq_dim=256, text_dim=4096, text_len=512, in_dim=16, out_dim=16, eps=1e-6, patch_t=1, patch_h=2, patch_w=2)
LATENT = (21, 60, 104)


def schedule(steps, shift=5.0, n=1000):
    """Wan's flow schedule (reference/sampler/flow_sampler.hpp): sigmas from 1 - 1/n to 0, shifted, timesteps = sigma * n."""
    smax = 1.0 - 1.0 / n
    base = [smax + i * ((0.0 - smax) / steps) for i in range(steps)]
    sig = [shift * s / (1 + (shift - 1) * s) for s in base] + [0.0]
    return sig, [math.trunc(s * n) for s in sig[:-1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="1.3b", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    assert torch.cuda.is_available(), "no GPU"
    cfg = dict(COMMON, **PRESETS[a.preset])
    dev = torch.device("cuda")
    torch.manual_seed(0)
    with torch.device(dev):
        model = WanModel(cfg)
    model = model.to(torch.bfloat16).eval()
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    F, H, W = LATENT
    x = torch.randn(cfg["in_dim"], F, H, W, device=dev, dtype=torch.bfloat16)
    cond = torch.randn(77, cfg["text_dim"], device=dev, dtype=torch.bfloat16)
    uncond = torch.zeros(1, cfg["text_dim"], device=dev, dtype=torch.bfloat16)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION}
    timing = {}
    with torch.inference_mode():
        for name, be in backends.items():
            try:
                with sdpa_kernel([be]):
                    model(x, 500.0, cond, fast=True)  # warm-up (kernel selection, module load)
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    model(x, 500.0, cond, fast=True)
                    torch.cuda.synchronize()
                    timing[name] = (time.perf_counter() - t0) * 1e3
            except Exception as e:  # a backend that does not support the shape
                timing[name] = f"unavailable: {type(e).__name__}: {str(e)[:200]}"
            print(f"peer forward with SDPA {name}: {timing[name]}", flush=True)
        ok = {k: v for k, v in timing.items() if isinstance(v, float)}
        best = min(ok, key=ok.get)
        sig, ts = schedule(50)
        torch.cuda.reset_peak_memory_stats()
        steps_ms = []
        lat = torch.randn(cfg["in_dim"], F, H, W, device=dev, dtype=torch.float32)
        with sdpa_kernel([backends[best]]):
            for i in range(a.warmup + a.steps):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                xin = lat.to(torch.bfloat16)
                vc = model(xin, float(ts[i]), cond, fast=True).float()
                vu = model(xin, float(ts[i]), uncond, fast=True).float()
                v = vu + 5.0 * (vc - vu)
                lat = lat + (sig[i + 1] - sig[i]) * v
                torch.cuda.synchronize()
                if i >= a.warmup:
                    steps_ms.append((time.perf_counter() - t0) * 1e3)
    out = {
        "preset": a.preset, "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(), "sdpa_forward_ms": timing, "best_sdpa": best,
        "step_ms": steps_ms, "step_ms_median": statistics.median(steps_ms), "peak_bytes": torch.cuda.max_memory_allocated(),
        "weight_bytes": weight_bytes, "tokens": F * (H // 2) * (W // 2),
    }
    print(json.dumps({k: out[k] for k in ("best_sdpa", "step_ms_median", "peak_bytes", "weight_bytes")}), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
