#!/usr/bin/env python3
"""`sixbit calibrate` against numpy: the global and per-block fits in predictor.json are refitted from samples.json
with numpy.polyfit and numpy.corrcoef (implementations not written here) and must agree to 1e-9 relative; the
samples obey the definitions' basic facts (d > 0, s > 0, every block, step and pass present); the predictor is then
used by `sixbit run --predictor`. Usage: calibration_fit_check.py SIXBIT WORKDIR. Exit 77 without numpy."""
import json
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError as e:
    print(f"SKIP: {e}; run scripts/install-oracles.sh")
    sys.exit(77)

sixbit, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
env = dict(os.environ, OMP_WAIT_POLICY="passive", SIXBIT_MODEL="tiny")  # the fit check, on a fast model
out = os.path.join(work, "calib")
r = subprocess.run([sixbit, "calibrate", "--out", out, "--steps", "6", "--no-progress"], capture_output=True, text=True, env=env)
assert r.returncode == 0, r.stdout + r.stderr
pred = json.load(open(os.path.join(out, "predictor.json")))
smp = json.load(open(os.path.join(out, "samples.json")))
assert os.path.getsize(os.path.join(out, "d_vs_s.png")) > 1000
d, s, block = np.array(smp["d"]), np.array(smp["s"]), np.array(smp["block"])
n_blocks = len(pred["blocks"])
assert len(d) == 4 * 6 * 2 * n_blocks, len(d)  # 4 calibration prompts x 6 steps x 2 passes x blocks
assert (d > 0).all() and (s > 0).all(), "every block changes the stream and W4A4 changes every block"
for b in range(n_blocks):
    for step in range(6):
        for cond in (True, False):
            assert sum(1 for i in range(len(d)) if smp["block"][i] == b and smp["step"][i] == step and smp["cond"][i] == cond) == 4


def check(fit, x, y, where):
    a, c = np.polyfit(x, y, 1)
    r = np.corrcoef(x, y)[0, 1]
    for key, ref in (("a", a), ("c", c), ("r", r), ("r2", r * r)):
        got = fit[key]
        assert abs(got - ref) <= 1e-9 * max(abs(ref), 1e-3), f"{where}.{key}: sixbit {got!r}, numpy {ref!r}"
    assert fit["n"] == len(x)
    return r


r_global = check(pred["global"], d, s, "global")
for b in range(n_blocks):
    check(pred["blocks"][b], d[block == b], s[block == b], f"blocks[{b}]")
print(f"fits agree with numpy; global r = {r_global:.4f} over {len(d)} samples")

run_out = os.path.join(work, "run")
r = subprocess.run([sixbit, "run", "--out", run_out, "--steps", "6", "--no-progress", "--predictor",
                    os.path.join(out, "predictor.json")], capture_output=True, text=True, env=env)
assert r.returncode == 0, r.stdout + r.stderr
rep = json.load(open(os.path.join(run_out, "report.json")))
assert rep["predictor"]["source"] == os.path.join(out, "predictor.json")
assert rep["predictor"]["global"]["a"] == pred["global"]["a"]
print("sixbit run used the calibrated predictor")
