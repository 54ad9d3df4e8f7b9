#!/usr/bin/env bash
# Installs diffusers (the independent UniPC implementation tests/oracle/sampler_diffusers.py compares against)
# next to the CPU-only torch of tests/oracle/nvfp4_peers_install.sh, in .venv/torch-peers/site. Safe to run twice.
# --no-deps: its dependencies (numpy, huggingface_hub, regex, requests, safetensors, Pillow, filelock) are already
# there from the torch peers and .venv; importlib_metadata is the one it adds.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.venv/torch-peers
[ -d "$root/site/torch" ] || { echo "run tests/oracle/nvfp4_peers_install.sh first"; exit 1; }
if [ ! -f "$root/.installed-diffusers" ]; then
  .venv/bin/python -m pip -q --disable-pip-version-check install --no-deps --target "$root/site" \
    "diffusers==0.42.*" "importlib_metadata>=6" "zipp>=3"
  touch "$root/.installed-diffusers"
fi
LD_LIBRARY_PATH="$root/cudastub" PYTHONPATH="$root/site" .venv/bin/python -W ignore -c \
  "import diffusers; from diffusers import UniPCMultistepScheduler; print('diffusers', diffusers.__version__)" 2>&1 | grep -v '^W'
