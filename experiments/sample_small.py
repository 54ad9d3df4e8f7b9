"""Sample the trained small model in PyTorch from the same seeds and noise as the C++ reference, and compare.

    python3 experiments/sample_small.py --model M.safetensors --compare DIR/samples.safetensors [--min-psnr 40]
    python3 experiments/sample_small.py --model M.safetensors --prompt "a red circle moving left slowly on a dark
        background" --seed 1 --out video.npy

--compare takes the latents `sixbit eval-world --out DIR` wrote (tensor "p{id}_s{seed}" = prompt id, sample seed;
sampler settings from its metadata), samples each in PyTorch (fp32, exact attention, fp64 RoPE: small_model.sample)
and reports the PSNR of the two videos (pixels clamp((x + 1) / 2) in [0, 1], as metrics::video_from_latent;
PSNR = 10 log10(1 / MSE) over all frames). Exit 1 if any is below --min-psnr.
Dependencies: torch, numpy, safetensors.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import small_model  # noqa: E402
import world  # noqa: E402


def video(latent):
    return np.clip((latent.astype(np.float64) + 1.0) * 0.5, 0.0, 1.0)


def psnr(a, b):
    mse = float(np.mean((video(a) - video(b)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--compare", help="samples.safetensors from `sixbit eval-world --out`")
    p.add_argument("--min-psnr", type=float, default=40.0)
    p.add_argument("--prompt")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int)
    p.add_argument("--shift", type=float)
    p.add_argument("--guidance", type=float)
    p.add_argument("--solver", choices=["euler", "unipc"])
    p.add_argument("--out", help="with --prompt: write the final latent [3, F, H, W] as .npy")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    model, defaults = small_model.load_safetensors(a.model)
    model.to(a.device)
    if a.compare:
        from safetensors import safe_open
        with safe_open(a.compare, "np") as f:
            meta = json.loads(f.metadata()["sixbit.sampler"])
            cpp = {k: f.get_tensor(k) for k in f.keys()}
        if not cpp:
            sys.exit(f"sample_small: {a.compare} holds no samples")
        prompts = world.all_prompts()
        worst = math.inf
        for name, lat in cpp.items():
            pid, seed = (int(x[1:]) for x in name.split("_"))
            text = world.prompt_text(prompts[pid])
            mine = small_model.sample(model, text, seed, meta["steps"], meta["shift"], meta["guidance"], meta["solver"],
                                      a.device)
            q = psnr(mine, lat)
            worst = min(worst, q)
            print(f"{name}: PSNR {q:.2f} dB, max |torch - C++| {np.abs(mine - lat).max():.3e}  ({text})", flush=True)
        print(f"{len(cpp)} samples ({meta['solver']}, {meta['steps']} steps): min PSNR {worst:.2f} dB "
              f"(required {a.min_psnr})")
        return 0 if worst >= a.min_psnr else 1
    if not a.prompt:
        sys.exit("sample_small: give --compare FILE or --prompt TEXT")
    steps = a.steps or defaults["steps"]
    shift = a.shift if a.shift is not None else defaults["shift"]
    guidance = a.guidance if a.guidance is not None else defaults["guidance"]
    lat = small_model.sample(model, a.prompt, a.seed, steps, shift, guidance, a.solver or defaults["solver"], a.device)
    if a.out:
        if os.path.exists(a.out):
            sys.exit(f"sample_small: {a.out} exists; not overwriting")
        np.save(a.out, lat)
    print(f"sampled '{a.prompt}' seed {a.seed}: latent range [{lat.min():.3f}, {lat.max():.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
