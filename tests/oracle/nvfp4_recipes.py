#!/usr/bin/env python3
"""Compares sixbit's NVFP4 recipes, code for code and scale for scale, with independent numpy/ml_dtypes
transcriptions of each library's published quantizer (float32 numpy ops are the same IEEE operations the
libraries' torch/CUDA code performs, in the same order):

  te       TransformerEngine transformer_engine/common/cast/nvfp4/core_nvfp4.cuh (compute_global_encode_scaling_factor_FP4,
           compute_decoding_scaling_factor, the block_scale_inverse of the quantize kernels)
  modelopt ModelOpt modelopt/torch/quantization/qtensor/nvfp4_tensor.py (get_weights_scaling_factor(_2), quantize, _cast_fp4)
  torchao  torchao torchao/prototype/mx_formats/nvfp4_tensor.py (per_tensor_amax_to_scale, nvfp4_quantize; torchao 0.18)
  cutlass  CUTLASS tools/util/include/cutlass/util/reference/host/gett.hpp (block scale and element multiplier)

TransformerEngine and CUTLASS need a GPU build and cannot run here; the real torchao and ModelOpt quantizers
run on CPU PyTorch in nvfp4_library_peers.py (installed by tests/oracle/nvfp4_peers_install.sh). Usage: nvfp4_recipes.py DUMP_FILE (written by nvfp4_dump).
Exit 0: zero mismatches; 1: mismatches; 77: numpy/ml_dtypes missing (ctest marks the test skipped).
"""
import sys

try:
    import numpy as np
    import ml_dtypes
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e}; run scripts/install-oracles.sh")
    sys.exit(77)

f32 = np.float32
FLT_MAX = f32(np.finfo(np.float32).max)
E4M3 = ml_dtypes.float8_e4m3fn
E2M1 = ml_dtypes.float4_e2m1fn


def e4m3_satfinite(s):
    # The CUDA satfinite cast: RNE, values above 448 (+ half ulp) saturate to 448. ml_dtypes' cast is RNE but
    # turns overflow into NaN, so saturate first (values in (448, 464] round to 448 either way).
    return np.minimum(s, f32(448)).astype(E4M3)


def e2m1_codes(q):
    # ml_dtypes' float4_e2m1fn cast: RNE, saturating, sign kept (-0.0 -> 0x8): the cvt.rn.satfinite rule for
    # finite input (inputs here are finite).
    return q.astype(E2M1).view(np.uint8) & 0xF


def te(x):
    amax = np.max(np.abs(x))
    with np.errstate(divide="ignore", over="ignore"):
        S = np.minimum(f32(2688) / amax, FLT_MAX)
    if amax == 0 or S == 0 or not np.isfinite(S):
        S = f32(1)
    G = f32(1) / S
    bamax = np.max(np.abs(x), axis=-1)
    s = np.minimum(bamax * (S * (f32(1) / f32(6))), FLT_MAX)
    s8 = e4m3_satfinite(s)
    with np.errstate(divide="ignore"):
        m = np.minimum(f32(1) / (s8.astype(f32) * G), FLT_MAX)
    with np.errstate(over="ignore"):
        return s8.view(np.uint8), e2m1_codes(x * m[..., None]), G


def cutlass(x):
    amax = np.max(np.abs(x))
    with np.errstate(divide="ignore", over="ignore"):
        S = np.minimum(f32(2688) / amax, FLT_MAX)
    if amax == 0 or S == 0 or not np.isfinite(S):
        S = f32(1)
    bamax = np.max(np.abs(x), axis=-1)
    s8 = e4m3_satfinite(np.minimum(bamax * (S * (f32(1) / f32(6))), FLT_MAX))
    with np.errstate(divide="ignore", over="ignore"):
        m = np.minimum(S * (f32(1) / s8.astype(f32)), FLT_MAX)
        return s8.view(np.uint8), e2m1_codes(x * m[..., None]), f32(1) / S


def modelopt(x):
    wsf2 = np.max(np.abs(x)) / f32(6.0 * 448.0)
    if wsf2 == 0:
        wsf2 = f32(1)  # sixbit's documented choice; ModelOpt would produce NaN scales for an all-zero tensor
    bamax = np.max(np.abs(x), axis=-1)
    s = bamax / (f32(6.0) * wsf2)
    s[s == 0] = f32(1.0)
    s8 = np.clip(s, f32(2.0**-9), f32(448)).astype(E4M3)
    q = x / (s8.astype(f32) * wsf2)[..., None]
    # _cast_fp4: sign = (q < 0); ordinal = searchsorted(bounds, |q|) + (|q| is one of the odd bounds)
    bounds = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5], dtype=f32)
    a = np.abs(q)
    ordinal = np.searchsorted(bounds, a.ravel(), side="left").reshape(a.shape)
    ordinal = ordinal + np.isin(a, bounds[[1, 3, 5]])
    return s8.view(np.uint8), ((q < 0).astype(np.uint8) << 3) | ordinal.astype(np.uint8), wsf2


def torchao(x):
    pts = np.max(np.abs(x)).astype(f32) / f32(448.0 * 6.0)
    if pts == 0:
        pts = f32(1)  # sixbit's documented choice; torchao would divide by zero
    bamax = np.max(np.abs(x), axis=-1)
    block_scale = bamax / f32(6.0)
    s8 = np.clip(block_scale / pts, f32(2.0**-6), f32(448)).astype(E4M3)
    recip = (f32(1) / pts) / s8.astype(f32)  # torchao 0.18: x * ((1/pts)/s8), not x / (pts*s8)
    q = np.clip(x * recip[..., None], f32(-6), f32(6))
    return s8.view(np.uint8), e2m1_codes(q), pts


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    raw = open(sys.argv[1], "rb").read()
    magic, version, T, B = np.frombuffer(raw[:16], dtype="<u4")
    assert magic == 0x564E5853 and version == 1, "not an nvfp4_dump file"
    off = 16
    x = np.frombuffer(raw, dtype="<f4", count=T * B * 16, offset=off).reshape(T, 16, B // 16 * 16)
    off += x.nbytes
    blocks = x.reshape(T, B, 16)
    total_bad = 0
    for name, fn in (("te", te), ("modelopt", modelopt), ("torchao", torchao), ("cutlass", cutlass)):
        scales = np.frombuffer(raw, dtype=np.uint8, count=T * B, offset=off).reshape(T, B)
        off += T * B
        packed = np.frombuffer(raw, dtype=np.uint8, count=T * B * 8, offset=off).reshape(T, B, 8)
        off += T * B * 8
        decode = np.frombuffer(raw, dtype="<f4", count=T, offset=off)
        off += 4 * T
        ours_codes = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(T, B, 16)
        bad_s = bad_c = bad_g = 0
        for t in range(T):
            s8, codes, g = fn(blocks[t])
            bad_s += int(np.count_nonzero(s8 != scales[t]))
            bad_c += int(np.count_nonzero(codes != ours_codes[t]))
            bad_g += int(f32(g).view(np.uint32) != decode[t:t + 1].view(np.uint32)[0])
            if (bad_s or bad_c or bad_g) and total_bad == 0:
                total_bad = 1
                print(f"{name}: first mismatch in tensor {t}")
        zero_blocks = int(np.count_nonzero(np.max(np.abs(blocks), axis=-1) == 0))
        print(f"{name:9s} blocks {T * B}  scale mismatches {bad_s}  code mismatches {bad_c}  global-scale mismatches {bad_g}"
              f"  (zero blocks {zero_blocks}, distinct scale bytes {len(np.unique(scales))})")
        total_bad += bad_s + bad_c + bad_g
    print("PASS" if total_bad == 0 else "FAIL")
    return 0 if total_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
