// Launchers for the exact GEMM kernels: tiled tensor-core kernels (cuda/gemm_exact_tiled.cuh) when the operands are
// aligned for their vector loads, else the naive one-thread-per-output kernels (cuda/gemm_exact_kernels.cuh). Both are
// bit-identical to emulation/gemm/qgemm.hpp. Test: tests/gpu (gpu_emulator.cpp, gpu_gemm_tiled.cpp) via scripts/device.sh.
#include <algorithm>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/gemm_exact_kernels.cuh"
#include "cuda/gemm_exact_tiled.cuh"

namespace sixbit::cuda {

namespace {
int64_t tile_count(int64_t M, int64_t N) {
  using kernels::tiled::kBM, kernels::tiled::kBN;
  return ((M + kBM - 1) / kBM) * ((N + kBN - 1) / kBN);
}
void check_gemm_shape(int64_t M, int64_t N, int64_t K) {
  SIXBIT_CHECK(M >= 0 && N >= 0 && K >= 0, "negative GEMM shape");
  SIXBIT_CHECK(K % 16 == 0, "GEMM: K = ", K, " is not a multiple of 16");
  // The tiled kernels use one linear grid of kBM x kBN tiles (gridDim.x < 2^31); the naive fallback runs in row slices.
  SIXBIT_CHECK(tile_count(M, N) < (int64_t{1} << 31) && (N + 15) / 16 < (int64_t{1} << 31), "GEMM shape too large for the exact kernels' grid");
}
bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

void launch_tiled(kernels::tiled::Kind kind, const kernels::tiled::TiledArgs& args, cudaStream_t stream) {
  using kernels::tiled::Kind;
  const dim3 grid(static_cast<unsigned>(tile_count(args.M, args.N))), block(kernels::tiled::kThreads);
  if (kind == Kind::kW4A4) kernels::tiled::gemm_exact_tiled_kernel<Kind::kW4A4><<<grid, block, 0, stream>>>(args);
  else if (kind == Kind::kW4A8) kernels::tiled::gemm_exact_tiled_kernel<Kind::kW4A8><<<grid, block, 0, stream>>>(args);
  else kernels::tiled::gemm_exact_tiled_kernel<Kind::kW8A8><<<grid, block, 0, stream>>>(args);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// The naive kernels index rows by blockIdx.y (< 65536 blocks of 16 rows): larger M runs in row slices.
// launch(m0, rows, grid) enqueues one slice; every launch is checked here.
template <typename Launch>
void for_each_naive_slice(int64_t M, int64_t N, Launch launch) {
  constexpr int64_t kNaiveRows = 65535 * 16;
  for (int64_t m0 = 0; m0 < M; m0 += kNaiveRows) {
    const int64_t rows = std::min(kNaiveRows, M - m0);
    launch(m0, rows, dim3(static_cast<unsigned>((N + 15) / 16), static_cast<unsigned>((rows + 15) / 16)));
    SIXBIT_CUDA_CHECK_LAUNCH();
  }
}
}  // namespace

void gemm_w8a8_exact(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N, int64_t K,
                     cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  if (aligned(a, 16) && aligned(w, 16)) {  // int8 rows are K bytes, K % 16 == 0: every 16-byte chunk is aligned
    launch_tiled(kernels::tiled::Kind::kW8A8, {a, nullptr, sa, w, nullptr, sw, 0.0f, bias, y, M, N, K}, stream);
    return;
  }
  for_each_naive_slice(M, N, [&](int64_t m0, int64_t rows, dim3 grid) {
    kernels::gemm_w8a8_exact_naive_kernel<<<grid, dim3(16, 16), 0, stream>>>(a + m0 * K, sa + m0, w, sw, bias, y + m0 * N, rows, N, K);
  });
}

void gemm_w4a4_exact(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                     float w_global_decode, const float* bias, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  const float alpha = gemm::w4a4_alpha(a_global_decode, w_global_decode);  // on the host: the same fp32 operations
  if (aligned(a_packed, 8) && aligned(w_packed, 8)) {  // packed rows are K/2 bytes, a multiple of 8
    launch_tiled(kernels::tiled::Kind::kW4A4, {a_packed, a_scales, nullptr, w_packed, w_scales, nullptr, alpha, bias, y, M, N, K}, stream);
    return;
  }
  for_each_naive_slice(M, N, [&](int64_t m0, int64_t rows, dim3 grid) {
    kernels::gemm_w4a4_exact_naive_kernel<<<grid, dim3(16, 16), 0, stream>>>(a_packed + m0 * (K / 2), a_scales + m0 * (K / 16), w_packed, w_scales, alpha,
                                                                              bias, y + m0 * N, rows, N, K);
  });
}

void gemm_w4a8_exact(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                     float* y, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  check_gemm_shape(M, N, K);
  if (M == 0 || N == 0) return;
  const float alpha = gemm::w4a8_alpha(w_global_decode);
  if (aligned(a, 16) && aligned(w_packed, 8)) {
    launch_tiled(kernels::tiled::Kind::kW4A8, {a, nullptr, sa, w_packed, w_scales, nullptr, alpha, bias, y, M, N, K}, stream);
    return;
  }
  for_each_naive_slice(M, N, [&](int64_t m0, int64_t rows, dim3 grid) {
    kernels::gemm_w4a8_exact_naive_kernel<<<grid, dim3(16, 16), 0, stream>>>(a + m0 * K, sa + m0, w_packed, w_scales, alpha, bias, y + m0 * N, rows, N,
                                                                              K);
  });
}

namespace {
template <typename OutT>
void launch_w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, OutT* y, int64_t M, int64_t N, cudaStream_t stream) {
  if (M == 0 || N == 0) return;
  const int threads = 256;
  const bool vec = N % 4 == 0 && reinterpret_cast<uintptr_t>(acc) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % (4 * sizeof(OutT)) == 0;
  const int64_t per_row = vec ? N / 4 : N;
  // gridDim.y is limited to 65535: rows beyond that go in further launches.
  for (int64_t m0 = 0; m0 < M; m0 += 65535) {
    const int64_t rows = std::min<int64_t>(65535, M - m0);
    const dim3 grid(static_cast<unsigned>((per_row + threads - 1) / threads), static_cast<unsigned>(rows));
    kernels::w8a8_epilogue_kernel<OutT><<<grid, threads, 0, stream>>>(acc + m0 * N, sa + m0, sw, bias, y + m0 * N, rows, N, vec);
    SIXBIT_CUDA_CHECK_LAUNCH();
  }
}
}  // namespace

void w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, float* y, int64_t M, int64_t N, cudaStream_t stream) {
  launch_w8a8_epilogue(acc, sa, sw, bias, y, M, N, stream);
}
void w8a8_epilogue(const int32_t* acc, const float* sa, const float* sw, const float* bias, __nv_bfloat16* y, int64_t M, int64_t N,
                   cudaStream_t stream) {
  launch_w8a8_epilogue(acc, sa, sw, bias, y, M, N, stream);
}

}  // namespace sixbit::cuda
