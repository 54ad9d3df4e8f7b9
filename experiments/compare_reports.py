"""Compare two `sixbit run` reports of the same model, prompts and seed on different backends.

    python3 experiments/compare_reports.py A/report.json B/report.json

For every video: are the per-step precision tables and skip maps identical, how far apart are the measured
input-output differences d (max relative difference), and the fidelity (PSNR against each run's own full-precision
video) and detected attributes. Used by scripts/device.sh (phase `small`) to check the CUDA backends against the
emulator on the shipped model: cuda-verify must be identical; cuda (bf16) may decide otherwise near a threshold.
Exit 0 always: it reports, the reader judges.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def table(video):
    return [[(b["precision"], b["skipped"]) for b in st["blocks"]] for st in video["steps"]]


def max_rel_d(va, vb):
    worst = 0.0
    for sa, sb in zip(va["steps"], vb["steps"]):
        for ba, bb in zip(sa["blocks"], sb["blocks"]):
            da, db = ba.get("d"), bb.get("d")
            if da is not None and db is not None and da != 0:
                worst = max(worst, abs(da - db) / abs(da))
    return worst


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    print(f"{a['config']['backend']} vs {b['config']['backend']}:")
    for va, vb in zip(a["videos"], b["videos"]):
        ta, tb = table(va), table(vb)
        n = sum(len(r) for r in ta)
        diff = sum(x != y for ra, rb in zip(ta, tb) for x, y in zip(ra, rb))
        fa, fb = va["fidelity"], vb["fidelity"]
        same = json.dumps(va, sort_keys=True) == json.dumps(vb, sort_keys=True)
        print(f"  {va['prompt']!r}: precision+skip table {'identical' if diff == 0 else f'{diff} of {n} entries differ'}; "
              f"max rel diff of d {max_rel_d(va, vb):.3g}; video record {'identical' if same else 'differs'}; "
              f"PSNR mean {fa.get('mean_psnr_db')} vs {fb.get('mean_psnr_db')}; detected "
              f"{va['condition_adherence'].get('run', {}).get('detected')!r} vs {vb['condition_adherence'].get('run', {}).get('detected')!r}")


if __name__ == "__main__":
    main()
