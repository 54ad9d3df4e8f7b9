// sixbit/emulation/gemm/qgemm.hpp: quantized GEMMs whose result is defined to the bit (docs/numerics.md).
//
// All are "TN": activations A are [M, K] row-major, weights W are [N, K] row-major (the nn.Linear layout), and
// Y[m, n] = sum_k A[m, k] * W[n, k], written [M, N] row-major in fp32. K % 16 == 0. The CUDA exact kernels
// reproduce these definitions bit for bit; the fast kernels are measured against them.
//
// W8A8:  acc = sum_k a*w exactly in int32; y = ((float)acc * sa[m]) * sw[n] (+ bias[n]), left to right,
//        each operation one fp32 rounding (no FMA). (float)acc rounds to nearest even (exact below 2^24).
//        Per-tensor INT8 operands use their single scale for every row.
// W4A4:  for block j = 0 .. K/16-1 in increasing order: p_j = sum over the block of the integer products of the
//        E2M1 values in half units (exact int32), t_j = (float)p_j * (sa_j * sw_j) (exact in fp32: <= 20
//        significant bits), acc = acc + t_j (fp32); y = acc * alpha (+ bias[n]) with
//        alpha = 0.25f * (ga * gw)  (0.25 undoes the half units; ga, gw the tensors' global_decode).
// W4A8:  W NVFP4, A INT8 per-row: p_j = sum a_int8 * w_half (exact), t_j = (float)p_j * sw_j (exact),
//        acc += t_j in increasing j; y = (acc * sa[m]) * alpha (+ bias[n]) with alpha = 0.5f * gw.
// Without a bias nothing is added (so a -0.0 stays -0.0). The per-block partial sums and every fp32 operation are in SIXBIT_HD helpers (qgemm_scalar.hpp) shared with
// cuda/. Results are identical for any thread count: parallelism is over outputs, never over k.
#pragma once

#include <cstdint>

#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"

namespace sixbit::gemm {

// bias may be nullptr. Y must hold M*N floats.
void gemm_w8a8(const quant::Int8Tensor& a, const quant::Int8Tensor& w, const float* bias, float* y);
void gemm_w4a4(const quant::Nvfp4Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y);
void gemm_w4a8(const quant::Int8Tensor& a, const quant::Nvfp4Tensor& w, const float* bias, float* y);

// The exact int32 accumulators of W8A8 (M*N), for tests that compare integers.
void gemm_w8a8_int32(const quant::Int8Tensor& a, const quant::Int8Tensor& w, int32_t* acc);

}  // namespace sixbit::gemm
