#!/usr/bin/env python3
"""Summarize several cuda_bench outputs (cuda/bench/cuda_bench.cu): for every row, the median, min and max of its
ratio column across the runs. Each run's ratios are against peers measured in that same run (copy bandwidth, cuBLASLt
bf16), so the ratios, not the times, are what is comparable across runs.

Usage: python3 scripts/qbench_summary.py run1.txt run2.txt ...   (scripts/device.sh qbench with QBENCH_RUNS=N)
"""
import re
import statistics
import sys

ROW = re.compile(r"^(?P<what>\S.*?)\s{2,}(?P<ms>[0-9.]+)\s+[0-9.]+\s+\S+/s\s+(?P<ratio>[0-9.]+)x")


def parse(path):
    rows, section = {}, ""
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("-- "):
                section = line[3:]
                continue
            m = ROW.match(line.strip())
            if m and section:
                rows[(section, m.group("what").strip())] = float(m.group("ratio"))
    return rows


def main(paths):
    if len(paths) < 2:
        sys.exit("qbench_summary.py: give at least two cuda_bench outputs")
    runs = [parse(p) for p in paths]
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    if not keys:
        sys.exit("qbench_summary.py: no row common to all runs (are these cuda_bench outputs?)")
    print(f"cuda_bench over {len(runs)} runs: ratio median [min, max]")
    section = None
    for sec, what in keys:
        if sec != section:
            print(f"-- {sec}")
            section = sec
        vals = [r[(sec, what)] for r in runs]
        print(f"{what:<46} {statistics.median(vals):6.2f}x  [{min(vals):.2f}, {max(vals):.2f}]")


if __name__ == "__main__":
    main(sys.argv[1:])
