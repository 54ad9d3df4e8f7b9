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
import json


def quantize(path, out, *extra):
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([sixbit, "quantize", path, out, *extra], check=True, stdout=subprocess.DEVNULL)
    return load_file(out)


# The amax sixbit records is max |x| of the values it read: equal to numpy's only if every element came through.
def recorded_amax(path, name):
    with safe_open(path, "np") as f:
        return json.loads(f.metadata()[name])["amax"]


x32 = rng.standard_normal((8, 48)).astype(np.float32) * 3
x32[3, 7] = -41.5  # the amax element, negative on purpose
save_file({"x": x32}, os.path.join(work, "ref.safetensors"))
ref = quantize(os.path.join(work, "ref.safetensors"), os.path.join(work, "ref_q.safetensors"))
assert np.float32(recorded_amax(os.path.join(work, "ref_q.safetensors"), "x")) == np.abs(x32).max()
# .npy written by numpy (v1.0 header; v2.0 via the format module) in each dtype; f16 widens exactly, f64 rounds
# once (numpy's astype(float32) is RNE too), so the codes must equal those of the fp32 safetensors file.
from numpy.lib import format as npy_format
cases = [("x_f32.npy", x32, x32), ("x_f16.npy", x32.astype(np.float16), x32.astype(np.float16).astype(np.float32)),
         ("x_f64.npy", x32.astype(np.float64) + 1e-9, (x32.astype(np.float64) + 1e-9).astype(np.float32))]
for name, arr, as_f32 in cases:
    p = os.path.join(work, name)
    np.save(p, arr)
    got = quantize(p, os.path.join(work, "npy_q.safetensors"))
    save_file({"x": as_f32}, os.path.join(work, "expect.safetensors"))
    want = quantize(os.path.join(work, "expect.safetensors"), os.path.join(work, "expect_q.safetensors"))
    stem = name[:-4]
    for part in ("codes", "scales", "global_scale"):
        assert np.array_equal(got[f"{stem}.{part}"], want[f"x.{part}"]), (name, part)
p = os.path.join(work, "x_v2.npy")
with open(p, "wb") as f:
    npy_format.write_array(f, x32, version=(2, 0))
got = quantize(p, os.path.join(work, "npy_q.safetensors"))
assert np.array_equal(got["x_v2.codes"], ref["x.codes"]), "v2.0 header"
# Fortran order is refused with a clear message and exit status 1.
p = os.path.join(work, "x_fortran.npy")
np.save(p, np.asfortranarray(x32))
r = subprocess.run([sixbit, "quantize", p, os.path.join(work, "f_q.safetensors")], capture_output=True, text=True)
assert r.returncode == 1 and "Fortran" in r.stderr, (r.returncode, r.stderr)
print("PASS: safetensors (PyPI) and sixbit read each other's files; numpy .npy (f32/f16/f64, v1/v2) read exactly")
