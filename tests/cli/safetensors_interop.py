#!/usr/bin/env python3
"""Interop with the reference safetensors implementation (PyPI `safetensors`, written by Hugging Face):
a file it writes is read by `sixbit quantize`, and the file sixbit writes is read back by it.
Usage: safetensors_interop.py SIXBIT_BINARY WORKDIR. Exit 77 when safetensors/numpy are missing."""
import os
import subprocess
import sys

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
except ImportError as e:
    print(f"SKIP: {e}; run scripts/install-oracles.sh")
    sys.exit(77)

sixbit, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
src, dst = os.path.join(work, "hf.safetensors"), os.path.join(work, "q.safetensors")
for p in (src, dst):
    if os.path.exists(p):
        os.remove(p)
rng = np.random.default_rng(0)
save_file({"x.f32": rng.standard_normal((16, 64)).astype(np.float32), "x.f16": rng.standard_normal((4, 32)).astype(np.float16),
           "ids": np.arange(10, dtype=np.int64)}, src, metadata={"origin": "python"})
subprocess.run([sixbit, "quantize", src, dst], check=True)
out = load_file(dst)
assert out["x.f32.codes"].dtype == np.uint8 and out["x.f32.codes"].shape == (16, 32), out["x.f32.codes"].shape
assert out["x.f32.scales"].shape == (16, 4)
assert out["x.f16.codes"].shape == (4, 16)
assert "ids.codes" not in out, "integer tensors are not quantized"
with safe_open(dst, "np") as f:
    meta = f.metadata()
assert '"nvfp4"' in meta["x.f32"], meta
print("PASS: safetensors (PyPI) and sixbit read each other's files")
