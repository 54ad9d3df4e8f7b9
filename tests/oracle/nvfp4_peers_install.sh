#!/usr/bin/env bash
# Installs the real torchao and ModelOpt quantizers with a CPU-only PyTorch from PyPI, for
# tests/oracle/nvfp4_library_peers.py. Safe to run twice. Needs .venv (scripts/install-oracles.sh) first.
#
# Why it looks like this: PyPI's Linux torch wheel (2.15, ~540 MB) is the CUDA build. Its pip dependencies
# (nvidia-* CUDA 13 libraries) are several GB, and download.pytorch.org (the CPU wheels) is not reachable here.
# So torch is installed with --no-deps, and the CUDA libraries libtorch_cuda.so links against are replaced by
# stub .so files generated from the symbols torch imports (each stub returns a non-zero value, so CUDA calls
# report an error; torch.cuda.is_available() is False). CPU ops never call them. Everything goes to
# .venv/torch-peers/{site,cudastub}, used via PYTHONPATH and LD_LIBRARY_PATH; .venv itself is not changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=.venv/torch-peers
pip=".venv/bin/python -m pip -q --disable-pip-version-check"
[ -x .venv/bin/python ] || { echo "run scripts/install-oracles.sh first"; exit 1; }
mkdir -p "$root/site" "$root/cudastub"
if [ ! -f "$root/.installed" ]; then
  $pip install --no-deps --target "$root/site" "torch==2.15.*"
  $pip install --target "$root/site" typing_extensions filelock sympy networkx jinja2 fsspec
  $pip install --no-deps --target "$root/site" "torchao==0.18.*" "nvidia-modelopt==0.47.*"
  # ModelOpt's import chain (modelopt/torch/__init__.py and utils) needs these at import time.
  $pip install --target "$root/site" packaging pydantic rich tqdm pyyaml scipy ninja safetensors regex \
    requests omegaconf huggingface_hub pulp
  touch "$root/.installed"
fi
if [ ! -f "$root/cudastub/.built" ]; then
  lib="$root/site/torch/lib"
  tmp=$(mktemp -d)
  for f in "$lib"/*.so "$root"/site/torch/_C*.so; do nm -D --undefined-only "$f" | awk '{print $2}'; done | sort -u > "$tmp/undef"
  for f in "$lib"/*.so; do nm -D --defined-only "$f" | awk '{print $3}'; done | sed 's/@.*//' | sort -u > "$tmp/deft"
  for f in /lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libstdc++.so.6,libgcc_s.so.1}; do
    nm -D --defined-only "$f" | awk '{print $3}'; done | sed 's/@.*//' | sort -u > "$tmp/defs"
  sed 's/@.*//' "$tmp/undef" | sort -u | comm -23 - "$tmp/deft" | comm -23 - "$tmp/defs" > "$tmp/need"
  .venv/bin/python - "$tmp" <<'EOF'
import sys
d = sys.argv[1]
need = set(open(f"{d}/need").read().split())
ver = {}
for line in open(f"{d}/undef"):
    s = line.strip()
    if "@" in s:
        n, v = s.split("@", 1)
        if n in need:
            ver.setdefault(n, v.lstrip("@"))
nodes = {}
for n in sorted(need):
    nodes.setdefault(ver.get(n, "STUB"), []).append(n)
with open(f"{d}/stub.c", "w") as f:
    f.write("static char stub_buf[65536] __attribute__((aligned(64)));\n")
    f.writelines(f"long {n}(void) {{ return (long)stub_buf; }}\n" for n in sorted(need))
with open(f"{d}/ver.map", "w") as f:
    for v, syms in nodes.items():
        f.write(v + " {\n global:\n" + "".join(f"  {s};\n" for s in syms) + "};\n")
EOF
  for so in libcudart.so.13 libcusparse.so.12 libcufft.so.12 libcufile.so.0 libcusparseLt.so.0 libnccl.so.2 \
            libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libnvrtc.so.13 libcuda.so.1 libcusolver.so.12 \
            libnvshmem_host.so.3 libcupti.so.13; do
    gcc -shared -fPIC -o "$root/cudastub/$so" "$tmp/stub.c" -Wl,--version-script="$tmp/ver.map" -Wl,-soname,$so
  done
  rm -rf "$tmp"
  touch "$root/cudastub/.built"
fi
LD_LIBRARY_PATH="$root/cudastub" PYTHONPATH="$root/site" .venv/bin/python -W ignore -c \
  "import torch, torchao; from modelopt.torch.quantization.qtensor.nvfp4_tensor import NVFP4QTensor; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())" 2>&1 | grep -v '^W'
