#!/usr/bin/env python3
"""Runs the real torchao and ModelOpt NVFP4 quantizers (CPU PyTorch) on the blocks written by nvfp4_dump and
compares sixbit's torchao and modelopt recipes with them byte for byte (packed codes and UE4M3 scale bytes).

  torchao   torchao.prototype.mx_formats.nvfp4_tensor: per_tensor_amax_to_scale(amax), then
            nvfp4_quantize(x, 16, per_tensor_scale) -> (scales e4m3, packed uint8)
  modelopt  modelopt.torch.quantization.qtensor.nvfp4_tensor.NVFP4QTensor.quantize(x, 16)
            -> (qtensor with packed uint8 _quantized_data, per-block e4m3 scales, wsf2)

All-zero tensors are skipped for both (the libraries divide by a zero global scale there and give NaN;
sixbit uses G = 1, see docs/numerics.md); the number skipped is printed.
Usage: nvfp4_library_peers.py DUMP_FILE. Exit 0: zero mismatches; 1: mismatches; 77: torch/torchao/modelopt
not importable (ctest marks the test skipped). See docs/numerics.md for how torch is installed here.
"""
import sys
import warnings

warnings.filterwarnings("ignore")
try:
    import numpy as np
    import torch
except Exception as e:  # pragma: no cover
    print(f"SKIP: torch not importable: {e}")
    sys.exit(77)


def load_peers():
    peers = {}
    try:
        from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize, per_tensor_amax_to_scale

        def torchao_q(x):
            pts = per_tensor_amax_to_scale(torch.amax(torch.abs(x)))
            s, packed = nvfp4_quantize(x, 16, pts)
            return s.view(torch.uint8).numpy().reshape(-1), packed.numpy().reshape(-1)
        peers["torchao"] = torchao_q
    except Exception as e:
        print(f"torchao not importable: {e}")
    try:
        from modelopt.torch.quantization.qtensor.nvfp4_tensor import NVFP4QTensor

        def modelopt_q(x):
            qt, s, _ = NVFP4QTensor.quantize(x, 16)
            return s.view(torch.uint8).numpy().reshape(-1), qt._quantized_data.numpy().reshape(-1)
        peers["modelopt"] = modelopt_q
    except Exception as e:
        print(f"modelopt not importable: {e}")
    return peers


RECIPES = ("te", "modelopt", "torchao", "cutlass")  # order in the dump file (tests/oracle/nvfp4_dump.cpp)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    peers = load_peers()
    if not peers:
        print("SKIP: neither torchao nor modelopt importable")
        return 77
    raw = open(sys.argv[1], "rb").read()
    magic, version, T, B = np.frombuffer(raw[:16], dtype="<u4")
    assert magic == 0x564E5853 and version == 1, "not an nvfp4_dump file"
    off = 16
    x = np.frombuffer(raw, dtype="<f4", count=T * B * 16, offset=off).reshape(T, 16, B)
    off += x.nbytes
    ours = {}
    for name in RECIPES:
        scales = np.frombuffer(raw, dtype=np.uint8, count=T * B, offset=off).reshape(T, B)
        off += T * B
        packed = np.frombuffer(raw, dtype=np.uint8, count=T * B * 8, offset=off).reshape(T, B * 8)
        off += T * B * 8 + 4 * T
        ours[name] = (scales, packed)
    total_bad = 0
    for name, fn in peers.items():
        scales, packed = ours[name]
        bad_s = bad_c = skipped = checked = 0
        for t in range(T):
            xt = torch.from_numpy(np.array(x[t]))
            if not np.any(x[t] != 0):
                skipped += 1
                continue
            s, p = fn(xt)
            bs = int(np.count_nonzero(s != scales[t]))
            bc = int(np.count_nonzero(p != packed[t]))
            if (bs or bc) and bad_s + bad_c == 0:
                i = int(np.argmax(s != scales[t])) if bs else int(np.argmax(p != packed[t])) // 8
                print(f"{name}: first mismatch tensor {t} block {i}: x={x[t].reshape(-1, 16)[i].tolist()} "
                      f"scale ours {scales[t][i]:#04x} lib {s[i]:#04x} "
                      f"packed ours {packed[t][8*i:8*i+8].tolist()} lib {p[8*i:8*i+8].tolist()}")
            bad_s += bs
            bad_c += bc
            checked += 1
        print(f"{name:9s} real library: blocks {checked * B}  scale-byte mismatches {bad_s}  packed-byte mismatches "
              f"{bad_c}  (all-zero tensors skipped {skipped})")
        total_bad += bad_s + bad_c
    print("PASS" if total_bad == 0 else "FAIL")
    return 0 if total_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
