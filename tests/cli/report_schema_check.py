#!/usr/bin/env python3
"""`sixbit run` reports against docs/report.schema.json, validated by the PyPI `jsonschema` package (not written
here), for several configurations; plus the consistency the schema cannot express (skip map vs flags, counts,
memory lines, the targets table against the sections it summarises). The schema must have teeth: six mutated
reports must each be rejected. Usage: report_schema_check.py SIXBIT SCHEMA WORKDIR. Exit 77 without jsonschema."""
import copy
import json
import os
import shutil
import subprocess
import sys

try:
    import jsonschema
except ImportError as e:
    print(f"SKIP: {e}; run scripts/install-oracles.sh (experiments/requirements-oracles.txt)")
    sys.exit(77)

sixbit, schema_path, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
schema = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
# Passive OpenMP waiting: ctest runs tests in parallel on 2 cores, where spinning workers slow small ops badly.
env = dict(os.environ, OMP_WAIT_POLICY="passive")

configs = {
    "default": [],
    "threshold_teacache_b": ["--policy", "w4a4-w4a8", "--threshold", "0.05", "--cache", "teacache",
                             "--cache-threshold", "1.5", "--steps", "6"],
    "reference_full": ["--backend", "reference", "--policy", "full", "--cache", "none", "--steps", "4"],
    "fbcache_two_prompts": ["--cache", "fbcache", "--cache-threshold", "1.0", "--steps", "6", "--budget", "5",
                            "--solver", "unipc"],
}
prompts = os.path.join(work, "prompts.txt")
with open(prompts, "w") as f:
    f.write("# two prompts\na red circle\n\na blue square moving up\n")
configs["fbcache_two_prompts"] += ["--prompts", prompts]

# A self-describing checkpoint in the small model's format, shrunk (2 blocks, 4 frames): the RGB/adherence branch.
try:
    import numpy as np
    from safetensors.numpy import save_file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(schema_path)), "..", "experiments"))
    import world
    cfg = dict(dim=128, ffn_dim=512, num_layers=2, freq_dim=256, text_dim=64, text_len=16, in_dim=3, out_dim=3)
    D, F = cfg["dim"], cfg["ffn_dim"]
    shapes = {"patch_embedding.weight": (D, 3, 1, 4, 4), "patch_embedding.bias": (D,), "head.modulation": (1, 2, D),
              "head.head.weight": (3 * 16, D), "head.head.bias": (3 * 16,)}
    for n, o, i in (("text_embedding.0", D, 64), ("text_embedding.2", D, D), ("time_embedding.0", D, 256),
                    ("time_embedding.2", D, D), ("time_projection.1", 6 * D, D)):
        shapes[n + ".weight"], shapes[n + ".bias"] = (o, i), (o,)
    for b in range(cfg["num_layers"]):
        p = f"blocks.{b}."
        for a in ("self_attn", "cross_attn"):
            for l in "qkvo":
                shapes[f"{p}{a}.{l}.weight"], shapes[f"{p}{a}.{l}.bias"] = (D, D), (D,)
            shapes[f"{p}{a}.norm_q.weight"] = shapes[f"{p}{a}.norm_k.weight"] = (D,)
        shapes[p + "norm3.weight"] = shapes[p + "norm3.bias"] = (D,)
        shapes[p + "ffn.0.weight"], shapes[p + "ffn.0.bias"] = (F, D), (F,)
        shapes[p + "ffn.2.weight"], shapes[p + "ffn.2.bias"] = (D, F), (D,)
        shapes[p + "modulation"] = (1, 6, D)
    rng = np.random.default_rng(0)
    tensors = {k: (rng.standard_normal(v) / np.sqrt(v[-1] if len(v) > 1 else 50)).astype(np.float32) for k, v in shapes.items()}
    tensors["prompt_encoder.token_embedding.weight"] = rng.standard_normal((len(world.VOCAB), 64)).astype(np.float32)
    tensors["prompt_encoder.position_embedding.weight"] = rng.standard_normal((16, 64)).astype(np.float32)
    ckpt = os.path.join(work, "small.safetensors")
    save_file(tensors, ckpt, metadata={"sixbit.config": json.dumps({"preset": "small", "num_layers": 2, "latent_frames": 4}),
                                       "sixbit.vocab": json.dumps(world.VOCAB),
                                       "sixbit.sampler": json.dumps({"steps": 3, "shift": 3.0, "guidance": 4.0, "solver": "euler"})})
    configs["trained_format_small"] = ["--model", ckpt]
except ImportError as e:
    print(f"note: no trained-format report checked ({e})")

reports = {}
for name, args in configs.items():
    out = os.path.join(work, name)
    r = subprocess.run([sixbit, "run", "--out", out, "--no-progress"] + args, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{name}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    rep = json.load(open(os.path.join(out, "report.json")))
    errors = sorted(validator.iter_errors(rep), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    reports[name] = rep

    # Consistency beyond the schema.
    n = rep["config"]["model"]["blocks"]
    steps = rep["config"]["sampler"]["steps"]
    skipped = run = 0
    for v in rep["videos"]:
        assert len(v["steps"]) == 2 * steps, name
        assert [s["pass"] for s in v["steps"][:2]] == ["cond", "uncond"], "cond pass first"
        for s in v["steps"]:
            assert len(s["map"]) == n == len(s["blocks"]), name
            for ch, b in zip(s["map"], s["blocks"]):
                assert (ch == ".") == b["skipped"], (name, s["map"])
                assert b["skipped"] == (b["d"] is None), (name, "d is measured exactly when the block ran")
                skipped += b["skipped"]
                run += not b["skipped"]
        assert len(v["error_per_step"]["latent_rel_l2"]) == steps
        for f in v["files"]:
            assert os.path.isfile(os.path.join(out, f)), f
    assert len(rep["videos"]) == len(rep["config"]["prompts"])
    p = rep["precision"]
    assert (p["blocks_run"], p["blocks_skipped"]) == (run, skipped), name
    mem = rep["memory"]
    assert sum(l["bytes"] for l in mem["lines"]) == mem["total_bytes"], name
    assert abs(mem["reduction_vs_bf16"] - mem["bf16_bytes"] / mem["total_bytes"]) < 1e-12
    t = {x["figure"]: x for x in rep["targets"]}
    assert t["end-to-end speed-up"]["value"] == rep["compute"]["simulated_speedup"]
    assert t["memory reduction (weights)"]["value"] == mem["reduction_vs_bf16"]
    assert t["end-to-end speed-up"]["paper"] == 1.92 and t["memory reduction (weights)"]["paper"] == 3.32
    for plot in rep["plots"]:
        assert os.path.isfile(os.path.join(out, plot)), plot
    print(f"{name}: valid; skip rate {p['skip_rate']:.3f}, bits W {p['avg_weight_bits']} A {p['avg_activation_bits']}, "
          f"memory {mem['reduction_vs_bf16']:.3f}x, simulated speed-up {rep['compute']['simulated_speedup']:.3f}x")

if "trained_format_small" in reports:
    v = reports["trained_format_small"]["videos"][0]
    assert v["condition_adherence"]["status"] == "measured" and isinstance(v["fidelity"]["ssim"], list)

full = reports["reference_full"]
assert full["predictor"] is None and full["precision"]["avg_activation_bits"] == 16
assert all(ch == "F" for v in full["videos"] for s in v["steps"] for ch in s["map"])
assert full["memory"]["reduction_vs_bf16"] == 1.0
assert reports["default"]["precision"]["avg_activation_bits"] <= 6.0 + 1e-12, "the default 6-bit budget is met"
assert reports["fbcache_two_prompts"]["precision"]["avg_activation_bits"] <= 5.0 + 1e-12

# Teeth: each mutation must be rejected.
base = reports["default"]
def mutated(fn):
    r = copy.deepcopy(base)
    fn(r)
    return r
mutations = {
    "targets removed": lambda r: r.pop("targets"),
    "unknown status": lambda r: r["targets"][0].update(status="guessed"),
    "psnr as text": lambda r: r["videos"][0]["fidelity"]["psnr_db"].__setitem__(0, "high"),
    "bad map character": lambda r: r["videos"][0]["steps"][0].update(map="4x"),
    "skip rate above 1": lambda r: r["precision"].update(skip_rate=1.5),
    "extra top-level key": lambda r: r.update(speedup=9.9),
    "measured without value": lambda r: r["targets"][3].update(value=None),
}
for what, fn in mutations.items():
    assert not validator.is_valid(mutated(fn)), f"the schema accepted a report with {what}"
print(f"{len(configs)} reports valid, {len(mutations)} mutations rejected")
