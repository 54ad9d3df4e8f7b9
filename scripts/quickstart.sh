#!/usr/bin/env bash
# The main job on the embedded default: install, build, then `sixbit run` on the shipped small model (a prompt, the
# predictor-driven 6-bit run with the Temporal Delta Cache, the same video in full precision, a report against the
# paper's targets). Output goes to a new folder out/run-<date>-<time> unless you pass --out DIR; any other
# arguments go to `sixbit run` (build/sixbit run --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --no-python
scripts/build.sh
args=("$@")
if [[ " $* " != *" --out "* ]]; then
  args+=(--out "out/run-$(date +%Y%m%d-%H%M%S)")
fi
build/sixbit run "${args[@]}"
