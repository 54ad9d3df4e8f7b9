"""CPU checks of experiments/train_small.py (ctest oracle_train_small_*; needs the CPU torch of .venv/torch-peers).

  smoke DUMP_TOOL WORKDIR   3 steps of the real `small` config (batch 2): state + loss log + export written; the
                            export has exactly the C++ loader's names, shapes and metadata, <= 16 MB; the C++
                            reference (small_model_dump) loads it and matches PyTorch at every block within the
                            bound of tests/unit/dit_golden_test.cpp; a different prompt breaks the match.
  learns WORKDIR            60 steps of a reduced config: the loss falls below 80% of its start.
  resume WORKDIR            8 steps straight vs 4 + resume 4: identical losses and identical exported weights.
  sample SIXBIT WORKDIR     `sixbit eval-world` vs experiments/sample_small.py on the same seeds: PSNR >= 40 dB.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "experiments"))
import small_model  # noqa: E402
import train_small  # noqa: E402
import wan_dit  # noqa: E402
import world  # noqa: E402

# Resume: 128 tokens (patch 2x8x8), dim 32, the cheapest config that exercises every piece.
REDUCED = json.dumps(dict(dim=32, ffn_dim=64, num_heads=2, num_layers=2, text_dim=16, patch_t=2, patch_h=8, patch_w=8))
# Learning: 512 tokens (patch 2x4x4, 96 values -> dim 64); REDUCED's 384 -> 32 bottleneck plateaus at the trivial
# loss (~1.04). About 1 s per step of batch 4 on the 2-core CI machine.
LEARNER = json.dumps(dict(dim=64, ffn_dim=128, num_heads=2, num_layers=2, text_dim=16, patch_t=2, patch_h=4, patch_w=4))


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def train(out, *extra):
    return train_small.main(["--out", out, "--threads", "2", "--log-every", "1", "--save-minutes", "1000", *extra])


def torch_forward(model, prompt, seed, t, dtype):
    m = model.to(dtype)
    cfg = m.cfg
    shape = (cfg["in_dim"], cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
    x = torch.from_numpy(small_model.initial_noise(seed, int(np.prod(shape))).reshape(shape)).to(dtype)
    ids, lengths = small_model.token_batch([prompt], m.vocab, cfg["text_len"])
    taps = []
    with torch.no_grad():
        ctx = m.prompt_encoder(ids, lengths)[0, :lengths[0]]
        out = m.dit(x, t, ctx, taps)
    return [a.to(torch.float64).numpy() for a in taps + [out]]


def smoke(tool, work):
    out = os.path.join(work, "smoke")
    t0 = time.time()
    # lr 1e-2 without warm-up: the zero-initialized head moves far enough in 3 steps that the output is non-trivial.
    meta = train(out, "--max-steps", "3", "--batch", "2", "--lr", "1e-2", "--warmup", "1")
    secs = time.time() - t0
    for n in train_small.STATE_FILES + ("loss.tsv", "small.safetensors"):
        if not os.path.exists(os.path.join(out, n)):
            fail(f"missing {n}")
        if os.path.getsize(os.path.join(out, n)) >= 16 * 2**20:
            fail(f"{n} is over 16 MiB (device output limit)")
    if meta["step"] != 3 or not all(np.isfinite(meta["losses"])):
        fail(f"bad meta {meta['step']} {meta['losses']}")
    print(f"3 steps of `small` at batch 2 incl. start-up: {secs:.1f} s")

    path = os.path.join(out, "small.safetensors")
    from safetensors import safe_open
    with safe_open(path, "np") as f:
        names = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        md = f.metadata()
    cfg = small_model.SMALL
    want = dict(wan_dit.weight_shapes(cfg))
    want["prompt_encoder.token_embedding.weight"] = (len(world.VOCAB), cfg["text_dim"])
    want["prompt_encoder.position_embedding.weight"] = (cfg["text_len"], cfg["text_dim"])
    if names != want:
        fail(f"tensor names/shapes differ: {sorted(set(names.items()) ^ set(want.items()))[:6]}")
    for k in ("sixbit.config", "sixbit.vocab", "sixbit.sampler", "sixbit.training"):
        if k not in md:
            fail(f"metadata lacks {k}")
    if json.loads(md["sixbit.vocab"]) != world.VOCAB or json.loads(md["sixbit.config"])["patch_h"] != 4:
        fail("vocab/config metadata wrong")
    print(f"export: {len(names)} tensors, {os.path.getsize(path)} bytes, metadata {sorted(md)}")

    prompt, seed, t = world.prompt_text(world.eval_prompts()[5]), 7, 700.0
    dump = os.path.join(work, "cpp_forward.safetensors")
    subprocess.run([tool, path, prompt, str(seed), repr(t), dump], check=True)
    with safe_open(dump, "np") as f:
        cpp = [f.get_tensor(f"block.{b}").astype(np.float64) for b in range(cfg["num_layers"])]
        cpp.append(f.get_tensor("output").astype(np.float64))
        cpp_context = f.get_tensor("context")
    model, _ = small_model.load_safetensors(path)
    # The prompt encoder: one fp32 add per element on both sides, so the contexts must be identical bits.
    ids, lengths = small_model.token_batch([prompt], model.vocab, cfg["text_len"])
    with torch.no_grad():
        torch_context = model.prompt_encoder(ids, lengths)[0, :lengths[0]].numpy()
    if torch_context.shape != (10, cfg["text_dim"]) or not np.array_equal(torch_context, cpp_context):
        fail("C++ and PyTorch prompt encoders differ")
    print(f"  context: {torch_context.shape} identical bits in C++ and PyTorch")
    t32 = torch_forward(model, prompt, seed, t, torch.float32)
    t64 = torch_forward(model, prompt, seed, t, torch.float64)
    # Bound as tests/unit/dit_golden_test.cpp derives it: 8 x (torch fp32's own error against fp64) + half an ulp
    # of the largest value; a wrong operation gives errors of the order of the activations.
    for i, (c, a, b) in enumerate(zip(cpp, t32, t64)):
        b = b.reshape(c.shape)
        a = a.reshape(c.shape)
        e_torch, e_cpp, ref = np.abs(a - b).max(), np.abs(c - b).max(), np.abs(b).max()
        bound = 8.0 * e_torch + 0.5 * ref * 2.0**-23
        key = f"block.{i}" if i < cfg["num_layers"] else "output"
        print(f"  {key:8s} max|ref| {ref:.3f} E_torch {e_torch:.3e} E_cpp {e_cpp:.3e} (bound {bound:.3e})")
        if not (0 < e_cpp <= bound) or e_torch == 0 or not np.all(np.isfinite(c)) or ref == 0:
            fail(f"{key}: C++ vs PyTorch outside the derived bound")
    fast_path(model.to(torch.float32), prompt, seed, t)
    other = torch_forward(model, world.prompt_text(world.eval_prompts()[6]), seed, t, torch.float64)
    gap = np.abs(other[0].reshape(cpp[0].shape) - cpp[0]).max()
    bound0 = 8.0 * np.abs(t32[0] - t64[0]).max() + 0.5 * np.abs(t64[0]).max() * 2.0**-23
    print(f"  mutation (another prompt) block.0 gap {gap:.3e} vs bound {bound0:.3e}")
    if gap <= bound0:
        fail("a different prompt is within the bound: the check has no teeth")


def fast_path(model, prompt, seed, t):
    """The training forward (SDPA, fp32 RoPE table, batched) against the exact one, both fp32, measured against the
    fp64 exact run: the fast path's error must stay within the same 8 x E_torch bound (same derivation)."""
    cfg = model.cfg
    shape = (cfg["in_dim"], cfg["latent_frames"], cfg["latent_height"], cfg["latent_width"])
    x = torch.from_numpy(small_model.initial_noise(seed, int(np.prod(shape))).reshape(shape))
    ids, lengths = small_model.token_batch([prompt], model.vocab, cfg["text_len"])
    with torch.no_grad():
        fast = model(x[None], torch.tensor([t]), ids, lengths, fast=True)[0].double().numpy()
    exact32 = torch_forward(model, prompt, seed, t, torch.float32)[-1]
    exact64 = torch_forward(model, prompt, seed, t, torch.float64)[-1]
    model.to(torch.float32)
    e_fast, e_torch = np.abs(fast - exact64).max(), np.abs(exact32 - exact64).max()
    bound = 8.0 * e_torch + 0.5 * np.abs(exact64).max() * 2.0**-23
    print(f"  training path: E_fast {e_fast:.3e} vs E_torch {e_torch:.3e} (bound {bound:.3e})")
    if not (0 < e_fast <= bound):
        fail("the training forward differs from the exact one")


def learns(work):
    meta = train(os.path.join(work, "learns"), "--max-steps", "60", "--batch", "4", "--lr", "2e-3", "--warmup", "10",
                 "--config-json", LEARNER)
    L = meta["losses"]
    first, last = float(np.mean(L[:10])), float(np.mean(L[-10:]))
    print(f"reduced config, 60 steps of batch 4: mean loss of steps 1-10 {first:.4f}, of steps 51-60 {last:.4f}")
    # Measured (2026-11-26, this config, batch 4): 1.46 (steps 1-10) -> 1.00 (step 60) -> 0.88 (step 80). The first
    # drop, to ~1.04, is the head learning the mean velocity; the fall below that needs the network (a 384 -> 32
    # bottleneck config stays at 1.04 for 150 steps). 0.8x checks that training reduces the loss at all, as the
    # smallest run that does; that the real model learns the world is the GPU run's job (docs/model-card.md).
    if not last < 0.8 * first:
        fail("loss did not fall below 80% of its start")


def resume(work):
    common = ["--batch", "4", "--lr", "3e-3", "--warmup", "2", "--config-json", REDUCED]
    full = train(os.path.join(work, "full"), "--max-steps", "8", *common)
    train(os.path.join(work, "half"), "--max-steps", "4", *common)
    cont = train(os.path.join(work, "cont"), "--max-steps", "8", "--resume", os.path.join(work, "half"), *common)
    print("straight:", full["losses"][4:])
    print("resumed: ", cont["losses"][4:])
    if full["losses"] != cont["losses"] or len(cont["losses"]) != 8:
        fail("resumed losses differ from the uninterrupted run")
    from safetensors.numpy import load_file
    a = load_file(os.path.join(work, "full", "small.safetensors"))
    b = load_file(os.path.join(work, "cont", "small.safetensors"))
    if a.keys() != b.keys() or any(not np.array_equal(a[k], b[k]) for k in a):
        fail("exported EMA weights differ between the straight and the resumed run")
    if len(set(full["losses"])) < 8:
        fail("losses repeat: the check cannot tell steps apart")


def sample(sixbit, work):
    """C++ eval-world sampling vs experiments/sample_small.py from the same seeds: PSNR >= 40 dB (the issue's
    acceptance figure), on a briefly trained reduced model so the outputs are not trivial; a wrong seed must fail."""
    import sample_small
    out = os.path.join(work, "model")
    train(out, "--max-steps", "3", "--batch", "2", "--lr", "1e-2", "--warmup", "1", "--config-json", REDUCED)
    model = os.path.join(out, "small.safetensors")
    d = os.path.join(work, "cpp")
    subprocess.run([sixbit, "eval-world", "--model", model, "--limit", "2", "--steps", "4", "--out", d], check=True)
    samples = os.path.join(d, "samples.safetensors")
    if sample_small.main(["--model", model, "--compare", samples, "--min-psnr", "40", "--threads", "2"]) != 0:
        fail("PyTorch and C++ samples differ (PSNR < 40 dB)")
    from safetensors.numpy import load_file
    lat = load_file(samples)["p0_s1"]
    m, meta = small_model.load_safetensors(model)
    other = small_model.sample(m, world.prompt_text(world.all_prompts()[0]), 2, 4, meta["shift"], meta["guidance"])
    q = sample_small.psnr(other, lat)
    print(f"  mutation (seed 2 instead of 1): PSNR {q:.2f} dB")
    if q >= 40:
        fail("a different seed matches: the comparison has no teeth")


if __name__ == "__main__":
    torch.set_num_threads(2)
    mode = sys.argv[1]
    if mode == "smoke":
        smoke(sys.argv[2], sys.argv[3])
    elif mode == "learns":
        learns(sys.argv[2])
    elif mode == "sample":
        sample(sys.argv[2], sys.argv[3])
    elif mode == "resume":
        resume(sys.argv[2])
    else:
        fail(f"unknown mode {mode}")
    print("PASS")
