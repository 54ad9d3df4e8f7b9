#!/usr/bin/env python3
"""The Temporal Delta Cache against TeaCache- and First-Block-Cache-style rules at equal skip rate, as a markdown
table for docs/harness.md. Runs `sixbit cache-sweep` (harness/tdc/sweep.hpp) once per setting and formats its JSON.

usage: experiments/cache_compare.py SIXBIT OUTDIR [--model SPEC] [--steps N ...] [--points N]
Each --steps value is one sweep (same model, prompts = the model's calibration prompts, seeds 1..4). Standard
library only; the numbers come from the C++ harness."""
import argparse
import json
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("sixbit")
ap.add_argument("outdir")
ap.add_argument("--model", default="")
ap.add_argument("--steps", type=int, nargs="+", default=[20])
ap.add_argument("--points", type=int, default=32)
ap.add_argument("--targets", default="0.1,0.2,0.3,0.4,0.5")
args = ap.parse_args()
os.makedirs(args.outdir, exist_ok=True)

for steps in args.steps:
    out = os.path.join(args.outdir, f"sweep_{(args.model or 'default').replace('/', '_')}_{steps}.json")
    cmd = [args.sixbit, "cache-sweep", "--no-progress", "--steps", str(steps), "--points", str(args.points),
           "--targets", args.targets, "--json", out, "--overwrite"]
    if args.model:
        cmd += ["--model", args.model]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    j = json.load(open(out))
    kinds = [k for k in ("tdc", "teacache", "fbcache")]
    print(f"\n`{' '.join(['sixbit'] + cmd[1:])}` ({time.time() - t0:.0f} s): model {j['model']}, {len(j['prompts'])} prompts, "
          f"{steps} steps, warm-up {j['warmup']}, max {j['max_skips']} consecutive skips\n")
    print("| skip rate >= | " + " | ".join(f"{k}: rel L2 / PSNR dB" for k in kinds) + " | lowest error |")
    print("|---|" + "---|" * (len(kinds) + 1))
    for row in j["table"]:
        cells = []
        for k in kinds:
            c = row.get(k)
            cells.append("not reached" if c is None else f"{c['latent_rel_l2']:.3e} / {c['mean_psnr_db']:.1f} (at {c['skip_rate']:.2f})")
        print(f"| {row['skip_rate_at_least']:.1f} | " + " | ".join(cells) + f" | {row['best'] or '-'} |")
    wins = {k: sum(1 for row in j["table"] if row["best"] == k) for k in kinds}
    print("\nlowest error: " + ", ".join(f"{k} {v}/{len(j['table'])}" for k, v in wins.items()))
