// sixbit/cuda/backend.hpp: the CUDA path's host API (device pointers in, device pointers out, one stream).
// The DiT runtime calls these; tests/gpu compares every one with the CPU emulator. Kernels live in the .cuh
// headers beside this file; the .cu files are thin launchers that check every launch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "emulation/quant/nvfp4.hpp"

namespace sixbit::cuda {

// True when a CUDA device can be used; otherwise `why` says what is missing (no driver, no device, ...).
bool device_available(std::string* why);
// The current device's multiprocessor count (asked of the driver once per device): sizes grid-stride and persistent grids.
int sm_count();

// ---- quantization (cuda/quantize.cu) --------------------------------------------------------------------------
// amax = max |x| over n values into *amax_dev (exact: a max does not depend on order). NaN values are counted
// into *nan_count_dev (may be null) and never become the max.
void tensor_amax(const float* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream);
// NVFP4 of a row-major [rows, cols] matrix with the tensor amax already on the device. `scales` holds
// rows*cols/16 bytes (row-major) or the padded 128x4 size (blocked; the padding is zeroed here).
void nvfp4_quantize(const float* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed,
                    uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream);
// INT8, one scale per row (activation tokens, or weight output channels).
void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream);
// The same three from bf16 input: each value is widened to fp32 exactly, then the fp32 arithmetic above, so the
// result is the CPU emulator's on the widened tensor, bit for bit. Alignment: x 8-byte aligned for NVFP4.
void tensor_amax_bf16(const __nv_bfloat16* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream);
void nvfp4_quantize_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed,
                         uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream);
void int8_quantize_rows_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream);
// NVFP4 with its tensor amax in one launch (for weights, which have no producing op to take the amax from): the bits
// of tensor_amax + nvfp4_quantize, and *amax_dev, *nan_count_dev (may be null) as tensor_amax writes them; the caller
// checks the NaN count (the emulator refuses NaN). A cooperative kernel keeps what the amax pass read on the chip
// (about 25 MB on an H100) and L2 holds the rest of a weight-sized tensor, so DRAM is read about once; larger tensors
// are partly read twice (still correct). Where cooperative launch is unsupported it runs the two launches.
void nvfp4_quantize_fused_amax(const float* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, float* amax_dev, unsigned int* nan_count_dev,
                               uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream);
void nvfp4_quantize_fused_amax_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, float* amax_dev,
                                    unsigned int* nan_count_dev, uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream);

// ---- GEMMs (cuda/gemm_exact.cu, cuda/gemm_cublaslt.cu); Y[M,N] = A[M,K] W[N,K]^T, fp32 out, bias optional ----
// Exact kernels: bit-identical to emulation/gemm/qgemm.hpp's definitions. Global decode scales are host values.
void gemm_w8a8_exact(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N,
                     int64_t K, cudaStream_t stream);
void gemm_w4a4_exact(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                     float w_global_decode, const float* bias, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
void gemm_w4a8_exact(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                     float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

// W8A8 through cuBLASLt (int8 TN, CUBLAS_COMPUTE_32I, int32 out into `acc_workspace` of M*N int32) followed by
// the exact epilogue: the int32 products are exact, so the result is bit-identical to gemm_w8a8_exact.
// (Running it in row chunks on side streams, to keep the int32 in L2 and overlap epilogues with GEMMs, was measured
// slower on the H100 at every chunk size tried: docs/perf-h100.md.)
void gemm_w8a8_cublaslt(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int32_t* acc_workspace,
                        int64_t M, int64_t N, int64_t K, cudaStream_t stream);
// The same with bf16 output: the fp32 result above rounded once to bf16 (nearest even), bit for bit; half the
// output bytes for consumers that take bf16 activations.
void gemm_w8a8_cublaslt(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, __nv_bfloat16* y,
                        int32_t* acc_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

// Hopper GEMMs with the epilogue fused (cuda/gemm_sm90.cuh): wgmma kernels that need sm90_gemm_supported() (a
// compute-capability 9.0 device and this build's sm_90a code), K a positive multiple of 16 and A, W 16-byte aligned
// (the bulk tensor copy's rules); otherwise they throw sixbit::Error saying which (callers fall back to the
// cuBLASLt paths). fp32 or bf16 out.
bool sm90_gemm_supported(int device, std::string* why = nullptr);
// Which kernel runs W8A8: kCooperative (gemm_sm90.cuh: both consumer warpgroups on one 128 x 256 tile, then both
// on its epilogue), kPingpong (gemm_sm90_pingpong.cuh: a 128 x 128 tile per warpgroup, one's epilogue overlapping
// the other's MMAs), kPingpongCluster2 (the same with clusters of 2 CTAs sharing W by TMA multicast),
// kPingpongWideCluster2 (that with 128 x 192 tiles: fewer shared-memory bytes per MAC). kAuto: the fastest measured
// on the H100 (docs/perf-h100.md). All are bit-identical; tests and cuda_bench pin each.
enum class Sm90Schedule { kAuto, kCooperative, kPingpong, kPingpongCluster2, kPingpongWideCluster2 };
const char* sm90_schedule_name(Sm90Schedule s);  // "auto", "cooperative", "ping-pong", "ping-pong cluster 2", "ping-pong 128x192 cluster 2"
// W8A8: no int32 workspace, no second pass; bit-identical to gemm_w8a8_exact (fp32 out) and to its bf16 rounding.
void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N,
                    int64_t K, cudaStream_t stream, Sm90Schedule schedule = Sm90Schedule::kAuto);
void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, __nv_bfloat16* y, int64_t M,
                    int64_t N, int64_t K, cudaStream_t stream, Sm90Schedule schedule = Sm90Schedule::kAuto);
// FAST W4A8 with gemm_w4a8_fast's numerics (int8 A exactly in bf16, W dequantized exactly to bf16, fp32 tensor-core
// sums, y = (acc * sa[m]) * gw (+ bias[n])) in one kernel: A converted in registers, no A workspace, no fp32 round
// trip. w_bf16_workspace holds W in the kernel's own order (K permuted within blocks of 64 and zero-padded:
// N * fast_sm90_padded_k(K) bf16, not gemm_w4a8_fast's layout); a call with w_packed writes it, w_packed =
// nullptr reuses it. Error bound: tests/gpu.
constexpr int64_t fast_sm90_padded_k(int64_t K) { return (K + 63) / 64 * 64; }
// FAST W4A4 with gemm_w4a4_fast's numerics (A and W dequantized exactly, fp32 tensor-core sums, y = acc * (ga * gw))
// in one kernel: the packed A codes by TMA, their row-major block scales read by the kernel, decoded to fp16 in
// registers; no A workspace. w_f16_workspace: W in the kernel's order as fp16 (N * fast_sm90_padded_k(K)
// elements; w_packed != nullptr writes it, nullptr reuses it). K must be a multiple of 32 (else use gemm_w4a4_fast).
// `extra`: a bias (y = RN(acc * alpha) + bias[n], then the output rounding) and alpha from device memory (replacing
// RN(ga * gw): for a caller whose global scales live on the device). Error bound: tests/gpu.
struct W4a4FastEpilogue {
  const float* bias = nullptr;       // fp32 [N]
  const float* alpha_dev = nullptr;  // one fp32 on the device
};
void gemm_w4a4_fast_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                         float w_global_decode, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                         const W4a4FastEpilogue& extra = {});
void gemm_w4a4_fast_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                         float w_global_decode, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                         const W4a4FastEpilogue& extra = {});
void gemm_w4a8_fast_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                         const float* bias, float* y, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
void gemm_w4a8_fast_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                         const float* bias, __nv_bfloat16* y, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
// EXACT W4A8 and W4A4 on the same kernel (cuda/gemm_sm90_exact.cuh): bit-identical to gemm_w4a8_exact /
// gemm_w4a4_exact (fp32 out) and to their values rounded once to bf16 (bf16 out). Each k16 wgmma is one NVFP4 block
// (its exact sum), added in block order by the CUDA cores. w_workspace: W in these kernels' own order and units (not
// the fast kernels' layout), N * fast_sm90_padded_k(K) 16-bit values; a call with w_packed writes it, nullptr reuses
// it. W4A4: K a multiple of 32 (else gemm_w4a4_exact). Hopper only (sm90_gemm_supported), like the fast kernels.
void gemm_w4a8_exact_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                          const float* bias, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
void gemm_w4a8_exact_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                          const float* bias, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
void gemm_w4a4_exact_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                          float w_global_decode, const float* bias, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K,
                          cudaStream_t stream);
void gemm_w4a4_exact_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                          float w_global_decode, const float* bias, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K,
                          cudaStream_t stream);

// acc[M,N] = A[M,K] W[N,K]^T in int32 (exact) through cuBLASLt: the first half of gemm_w8a8_cublaslt.
void gemm_i8_int32_cublaslt(const int8_t* a, const int8_t* w, int32_t* acc, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

// The W8A8 epilogue of qgemm.hpp applied to int32 accumulators already on the device (fp32, or rounded to bf16).
void w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, float* y, int64_t M, int64_t N, cudaStream_t stream);
void w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, __nv_bfloat16* y, int64_t M, int64_t N,
                   cudaStream_t stream);

// FAST W4A4 (cuda/gemm_fast.cu), not bit-exact: A and W dequantized exactly to bf16 (row-major scales) into the
// workspaces (M*K and N*K bf16), then cuBLASLt bf16 -> fp32 with alpha = ga*gw. Pass w_packed = nullptr to reuse a
// W already dequantized into w_bf16_workspace (weights are constant). No bias. Error bound: tests/gpu.
void nvfp4_dequantize_bf16(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, void* out_bf16, cudaStream_t stream);
void gemm_w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, float* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K,
                    cudaStream_t stream);
// The same with bf16 output (cuBLASLt rounds its fp32 accumulator, times alpha, to bf16): half the output bytes.
void gemm_w4a4_fast(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, __nv_bfloat16* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K,
                    cudaStream_t stream);
// FAST W4A8 (cuda/gemm_fast.cu), not bit-exact: int8 A (one scale per row, sa[M]) converted exactly to bf16 into
// a_bf16_workspace (M*K), W dequantized exactly to bf16 into w_bf16_workspace (N*K; w_packed = nullptr reuses it),
// cuBLASLt bf16 -> fp32, then y = (y * sa[m]) * gw (+ bias[n], may be null) in place. Error bound: tests/gpu.
// (cuBLASLt 13.1 on the H100 has no algorithm for a per-row alpha vector on a row-major fp32 D with bf16 inputs,
// which would have removed that pass: tried, docs/perf-h100.md.)
void gemm_w4a8_fast(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                    float* y, void* a_bf16_workspace, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream);
// Y[M,N] fp32 = alpha * A[M,K] W[N,K]^T with bf16 operands, fp32 accumulate (cuBLASLt).
void gemm_bf16_f32out_cublaslt(const void* a_bf16, const void* w_bf16, float* y, float alpha, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

// W4A4 on Blackwell through cuBLASLt block-scaled FP4 (cuda/gemm_fp4_blackwell.cu). Scales in the 128x4 blocked
// layout; y = alpha * sum (alpha = 0.25 * ga * gw is NOT applied inside: pass ga * gw, FP4 values are not in half
// units here). Selected at run time: blockscaled_fp4_supported() is true on compute capability >= 10 only; on
// Hopper the call throws a clear sixbit::Error. Compiled in CI; never run on the lent (Hopper) GPUs.
bool blockscaled_fp4_supported(int device);
void gemm_w4a4_blockscaled_cublaslt(const uint8_t* a_packed, const uint8_t* a_scales_blocked, const uint8_t* w_packed, const uint8_t* w_scales_blocked,
                                    float alpha, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

// bf16 GEMM through cuBLASLt (the benchmarks' baseline with alpha = 1): Y[M,N] (fp32 accumulate, bf16 out) = alpha * A[M,K] W[N,K]^T.
void gemm_bf16_cublaslt(const void* a_bf16, const void* w_bf16, void* y_bf16, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                        float alpha = 1.0f);

}  // namespace sixbit::cuda
