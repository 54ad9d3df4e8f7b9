#!/usr/bin/env python3
"""Digest of Nsight Compute's source view of one kernel launch: where the warps' stall samples and the issued
instructions go, per opcode and per SASS instruction. The command-line report has no per-line view, but
`ncu --import R.ncu-rep --page source --print-source sass --csv` prints one, provided the report was collected with
`--section SourceCounters`. That view found the exact W4A4 kernel's scale loads taking 16% of its stall samples
(docs/perf-h100.md, "Exact W4A4 / W4A8: what the stall profile found").

Usage: python3 scripts/ncu_source_digest.py SOURCE.csv [--top N]   (scripts/device.sh profile with NCU_SOURCE=1)
Prints: total samples and the stall reasons; executed warp instructions and samples per opcode; the N instructions
with the most samples (address, samples, executions, the top reasons).
"""
import collections
import csv
import re
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"
OPCODE = re.compile(r"(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)(\.[A-Z0-9_.]+)?")


def number(text):
    try:
        return int(text.replace(",", "")) if text else 0
    except ValueError:
        return 0


def load(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise SystemExit(f"{path}: {e.strerror}")
    for i, row in enumerate(rows):  # the header row names the columns; a kernel-name line may come first
        if "Address" in row and "Source" in row:
            return row, rows[i + 1:]
    raise SystemExit(f"{path}: no source-view header (Address, Source) found; was the report collected with "
                     "--section SourceCounters and printed with --page source --print-source sass --csv?")


def digest(path, top):
    header, rows = load(path)
    col = {name: i for i, name in enumerate(header)}
    for needed in (SAMPLES, EXECUTED):
        if needed not in col:
            raise SystemExit(f"{path}: column '{needed}' missing")
    reasons = [h for h in header if h.startswith("stall_") and not h.endswith("(Not Issued)")]
    total, by_reason = 0, collections.Counter()
    executed, sampled = collections.Counter(), collections.Counter()
    lines = []
    for row in rows:
        if len(row) < len(header):
            continue
        source = row[col["Source"]].strip()
        samples, execs = number(row[col[SAMPLES]]), number(row[col[EXECUTED]])
        total += samples
        m = OPCODE.match(source)
        op = (m.group(1) + (m.group(2) or "")[:12]) if m else source[:12]
        executed[op] += execs
        sampled[op] += samples
        per_reason = [(number(row[col[h]]), h[len("stall_"):]) for h in reasons]
        for n, name in per_reason:
            by_reason[name] += n
        lines.append((samples, row[col["Address"]], execs, source, sorted(per_reason, reverse=True)[:3]))
    all_executed = sum(executed.values())
    print(f"{path}: {total} stall samples, {all_executed} warp instructions executed")
    print("  reasons: " + ", ".join(f"{name} {n}" for name, n in by_reason.most_common(12) if n))
    print("  opcodes (executed, share, samples):")
    for op, n in executed.most_common(16):
        print(f"    {op:26s} {n:12d} {100.0 * n / max(all_executed, 1):5.1f}%  {sampled[op]:7d}")
    print(f"  top {top} instructions by samples (address, samples, executions, instruction, reasons):")
    for samples, address, execs, source, why in sorted(lines, key=lambda l: -l[0])[:top]:
        reasons_text = ", ".join(f"{name} {n}" for n, name in why if n)
        print(f"    {address[-5:]} {samples:6d} {execs:10d}  {source[:64]:64s} {reasons_text}")


def main(argv):
    top = 20
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--top" and i + 1 < len(argv):
            top = int(argv[i + 1])
            i += 2
            continue
        paths.append(argv[i])
        i += 1
    if not paths:
        raise SystemExit(__doc__)
    for p in paths:
        digest(p, top)


if __name__ == "__main__":
    main(sys.argv[1:])
