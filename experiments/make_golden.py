"""Regenerate tests/fixtures/dit_tiny_golden.bin: `.venv/bin/python experiments/make_golden.py`.

Builds the `tiny` Wan2.1 DiT (reference/model/config.cpp preset) with the seeded synthetic weights, runs the
PyTorch mirror (wan_dit.py) once in fp32 and once in fp64 (same fp32 weights and inputs, widened), and writes
weights, inputs and the per-block residual streams and final outputs of both runs. tests/unit/dit_golden_test.cpp
checks the C++ forward against it.

File format (little-endian), version 1:
  8 bytes magic "SBDITGLD", u32 version, u32 json_len, json_len bytes of JSON (config, seed, timestep),
  u32 count, then count entries: u32 name_len, name, u32 ndim, ndim x i64 dims, prod(dims) x f32 data.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_dit  # noqa: E402

TINY = dict(dim=64, ffn_dim=128, num_heads=2, num_layers=2, freq_dim=256, text_dim=32, text_len=8, in_dim=4,
            out_dim=4, eps=1e-6, latent_frames=3, latent_height=8, latent_width=8)
SEED = 20260101
TIMESTEP = 937.5      # exactly representable; Wan's timesteps lie in [0, 1000]
CONTEXT_TOKENS = 5    # fewer than text_len, so the zero padding of the context is exercised


def run(model, latent, context, dtype):
    m = model.to(dtype)
    taps = []
    with torch.no_grad():
        out = m(torch.from_numpy(latent).to(dtype), TIMESTEP, torch.from_numpy(context).to(dtype), taps)
    return [t.to(torch.float32).numpy() for t in taps], out.to(torch.float32).numpy()


def main():
    torch.set_num_threads(1)
    cfg = TINY
    w = wan_dit.synthetic_weights(cfg, SEED)
    latent = wan_dit.normals((SEED ^ wan_dit.fnv1a64("input.latent")) & wan_dit.M64,
                             cfg["in_dim"] * cfg["latent_frames"] * cfg["latent_height"] * cfg["latent_width"])
    latent = latent.reshape(cfg["in_dim"], cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
    context = wan_dit.normals((SEED ^ wan_dit.fnv1a64("input.context")) & wan_dit.M64,
                              CONTEXT_TOKENS * cfg["text_dim"]).reshape(CONTEXT_TOKENS, cfg["text_dim"])
    model = wan_dit.WanModel(cfg)
    sd = model.state_dict()
    assert set(sd.keys()) == set(w.keys()), sorted(set(sd.keys()) ^ set(w.keys()))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    taps32, out32 = run(model, latent, context, torch.float32)
    taps64, out64 = run(model, latent, context, torch.float64)

    entries = dict(w)
    entries["input.latent"] = latent
    entries["input.context"] = context
    for b, (a, c) in enumerate(zip(taps32, taps64)):
        entries[f"fp32.block.{b}"] = a
        entries[f"fp64.block.{b}"] = c
    entries["fp32.output"] = out32
    entries["fp64.output"] = out64
    for k, v in entries.items():
        assert np.all(np.isfinite(v)), k

    meta = json.dumps(dict(config=cfg, seed=SEED, timestep=TIMESTEP, torch=torch.__version__)).encode()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "dit_tiny_golden.bin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"SBDITGLD" + struct.pack("<II", 1, len(meta)) + meta + struct.pack("<I", len(entries)))
        for name, v in entries.items():
            v = np.ascontiguousarray(v, dtype="<f4")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", v.ndim) + struct.pack(f"<{v.ndim}q", *v.shape))
            f.write(v.tobytes())
    e32 = max(float(np.abs(a - c).max()) for a, c in zip(taps32 + [out32], taps64 + [out64]))
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes); max |fp32 - fp64| = {e32:.3e}")


if __name__ == "__main__":
    main()
