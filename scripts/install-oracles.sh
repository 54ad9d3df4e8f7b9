#!/usr/bin/env bash
# PyPI test oracles (ml_dtypes, PyTorch CPU, torchao, ...) in .venv. Safe to run twice.
# The oracle tests find .venv/bin/python; without it they are skipped with a message, never silently passed.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
req=experiments/requirements-oracles.txt
stamp=.venv/.installed-$(sha256sum "$req" | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

# The real torchao and ModelOpt quantizers on a CPU-only torch (tests/oracle/nvfp4_peers_install.sh explains
# how). Large (~0.6 GB); if it cannot be installed the library-peer oracle reports "skipped", never "passed".
if [ "${SIXBIT_SKIP_PEERS:-0}" != 1 ]; then
  tests/oracle/nvfp4_peers_install.sh || echo "install-oracles: warning: torchao/ModelOpt peers not installed; oracle_nvfp4_library_peers will be skipped"
  # diffusers next to that torch, for the sampler oracle (UniPC, flow-matching Euler).
  tests/oracle/sampler_peers_install.sh || echo "install-oracles: warning: diffusers not installed; oracle_sampler_diffusers will be skipped"
fi
