"""Regenerate tests/fixtures/dit_tiny_sampler_golden.bin:
`LD_LIBRARY_PATH=.venv/torch-peers/cudastub PYTHONPATH=.venv/torch-peers/site .venv/bin/python experiments/make_sampler_golden.py`
(or any Python with torch and numpy). Output is byte-identical across runs.

Runs Wan's sampling loop (experiments/flow_sampler.py, a transcription of wan/utils/fm_solvers_unipc.py and
wan/text2video.py) around the PyTorch mirror of the DiT (experiments/wan_dit.py) on the `tiny` preset with seeded
synthetic weights: UniPC for 6 steps and Euler for 4 steps, shift 5, CFG 5 (cond 5 context tokens, uncond 3),
once in fp32 and once in fp64 (the same fp32 weights, noise, contexts and fp32 sigma values, widened). Stores the
noise, the contexts, the model input of every step and the final latent of both runs, and Wan's (sigmas,
timesteps) for a table of (steps, shift). tests/unit/dit_sampler_test.cpp checks the C++ sampler against it.

File format (little-endian), version 1 (the container of make_golden.py):
  8 bytes magic "SBSMPGLD", u32 version, u32 json_len, json_len bytes of JSON, u32 count, then count entries:
  u32 name_len, name, u32 ndim, ndim x i64 dims, prod(dims) x f32 data.
JSON: config, seed, guidance, shift, runs {name: {solver, steps, orders}}, schedules [[steps, shift], ...].
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flow_sampler  # noqa: E402
import wan_dit  # noqa: E402

TINY = dict(dim=64, ffn_dim=128, num_heads=2, num_layers=2, freq_dim=256, text_dim=32, text_len=8, in_dim=4,
            out_dim=4, eps=1e-6, latent_frames=3, latent_height=8, latent_width=8)
SEED = 20260102
SHIFT = 5.0
GUIDANCE = 5.0
RUNS = {"unipc": ("unipc", 6), "euler": ("euler", 4)}
SCHEDULE_STEPS = [1, 2, 3, 4, 5, 7, 10, 20, 25, 40, 50, 100]
SCHEDULE_SHIFTS = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 16.0]


def stream(name, n):
    return wan_dit.normals((SEED ^ wan_dit.fnv1a64(name)) & wan_dit.M64, n)


def run(model, solver_name, steps, noise, cond, uncond, dtype):
    m = model.to(dtype)
    solver = (flow_sampler.WanUniPC if solver_name == "unipc" else flow_sampler.Euler)(steps, SHIFT, dtype)
    c, u = torch.from_numpy(cond).to(dtype), torch.from_numpy(uncond).to(dtype)

    def velocity(x, t, is_cond):
        return m(x, float(t), c if is_cond else u)

    inputs = []
    with torch.no_grad():
        out = flow_sampler.sample_cfg(solver, torch.from_numpy(noise).to(dtype), GUIDANCE, velocity, inputs)
    orders = getattr(solver, "orders", [])
    return [x.to(torch.float32).numpy() for x in inputs], out.to(torch.float32).numpy(), orders


def main():
    torch.set_num_threads(1)
    cfg = TINY
    shape = (cfg["in_dim"], cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
    # sixbit::sampler::initial_noise(SEED, n) = gaussian_normals(SEED ^ fnv1a64("sampler.noise"), n)
    noise = stream("sampler.noise", int(np.prod(shape))).reshape(shape)
    cond = stream("input.context", 5 * cfg["text_dim"]).reshape(5, cfg["text_dim"])
    uncond = stream("input.context_null", 3 * cfg["text_dim"]).reshape(3, cfg["text_dim"])
    w = wan_dit.synthetic_weights(cfg, SEED)
    model = wan_dit.WanModel(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})

    entries = {"noise": noise, "context.cond": cond, "context.uncond": uncond}
    meta_runs = {}
    for name, (solver_name, steps) in RUNS.items():
        in32, out32, orders = run(model, solver_name, steps, noise, cond, uncond, torch.float32)
        in64, out64, _ = run(model, solver_name, steps, noise, cond, uncond, torch.float64)
        for i, (a, b) in enumerate(zip(in32, in64)):
            entries[f"{name}.fp32.input.{i}"] = a
            entries[f"{name}.fp64.input.{i}"] = b
        entries[f"{name}.fp32.output"] = out32
        entries[f"{name}.fp64.output"] = out64
        meta_runs[name] = dict(solver=solver_name, steps=steps, orders=orders)
        e = float(np.abs(out32 - out64).max())
        print(f"{name}: {steps} steps, max |fp32 - fp64| of the result {e:.3e}, orders (corrector, predictor) {orders}")
    schedules = []
    for steps in SCHEDULE_STEPS:
        for shift in SCHEDULE_SHIFTS:
            sigmas, timesteps = flow_sampler.wan_schedule(steps, shift)
            entries[f"schedule.{len(schedules)}.sigmas"] = sigmas.numpy()
            entries[f"schedule.{len(schedules)}.timesteps"] = timesteps.numpy().astype(np.float32)  # ints < 1000
            schedules.append([steps, shift])
    for k, v in entries.items():
        assert np.all(np.isfinite(v)), k

    meta = json.dumps(dict(config=cfg, seed=SEED, guidance=GUIDANCE, shift=SHIFT, runs=meta_runs,
                           schedules=schedules, torch=torch.__version__)).encode()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                        "dit_tiny_sampler_golden.bin")
    with open(path, "wb") as f:
        f.write(b"SBSMPGLD" + struct.pack("<II", 1, len(meta)) + meta + struct.pack("<I", len(entries)))
        for name, v in entries.items():
            v = np.ascontiguousarray(v, dtype="<f4")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", v.ndim) + struct.pack(f"<{v.ndim}q", *v.shape))
            f.write(v.tobytes())
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
