#!/usr/bin/env bash
# The main job on the embedded default: install, build, run `sixbit run` with its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --no-python
scripts/build.sh
build/sixbit run "$@"
