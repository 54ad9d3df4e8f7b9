#!/usr/bin/env bash
# The test command (README, .ci/run): install what is missing, build, run every ctest label.
# Pass ctest arguments to run a slice, e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
