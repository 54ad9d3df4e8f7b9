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
