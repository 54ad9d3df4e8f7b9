// Launchers for cuda/quantize_kernels.cuh (fp32 and bf16 inputs). Build: part of sixbit_cuda
// (`cmake --build build --target sixbit_cuda`); test: tests/gpu (`ctest --test-dir build -L gpu`, scripts/device.sh).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <type_traits>
#include "common/check.hpp"
#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/quantize_kernels.cuh"
#include "cuda/quantize_fused_amax_kernels.cuh"

namespace sixbit::cuda {

bool device_available(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why) *why = e != cudaSuccess ? std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e) : "no CUDA device";
    cudaGetLastError();  // clear the sticky error of a missing driver
    return false;
  }
  return true;
}

// The current device's SM count, asked of the driver once per device (tensor_amax runs once per quantized tensor).
int sm_count() {
  static std::atomic<int> cached[64] = {};
  int dev = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev >= 64) dev = 63;  // never on the lent machines; a wrong guess here only sizes a grid-stride grid
  int sms = cached[dev].load(std::memory_order_relaxed);
  if (sms == 0) {
    SIXBIT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    cached[dev].store(sms, std::memory_order_relaxed);
  }
  return sms;
}

namespace {
template <typename T>
void tensor_amax_impl(const T* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream) {
  SIXBIT_CUDA_CHECK(cudaMemsetAsync(amax_dev, 0, sizeof(float), stream));
  if (nan_count_dev) SIXBIT_CUDA_CHECK(cudaMemsetAsync(nan_count_dev, 0, sizeof(unsigned int), stream));
  if (n == 0) return;
  const int threads = 256;
  const bool vec = reinterpret_cast<uintptr_t>(x) % (4 * sizeof(T)) == 0;
  // Enough blocks to fill every SM (8 resident 256-thread blocks each), no more: each thread then loops.
  const int64_t blocks = std::min<int64_t>((n / 4 + threads - 1) / threads + 1, int64_t{sm_count()} * 8);
  kernels::tensor_amax_kernel<T><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(x, n, vec, reinterpret_cast<unsigned int*>(amax_dev),
                                                                                     nan_count_dev);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

template <typename T, quant::Nvfp4Recipe R>
void nvfp4_launch(const T* x, int64_t n4, int64_t blocks_per_row, const float* amax_dev, uint8_t* packed, uint8_t* scales, bool blocked,
                  cudaStream_t stream) {
  // 4 float4 loads (fp32) or 8 8-byte loads (bf16) per thread: 64 B in flight per thread either way.
  constexpr int U = sizeof(T) == 4 ? 4 : 8;
  const int64_t grid = (n4 + 256 * U - 1) / (256 * U);
  kernels::nvfp4_quantize_kernel<T, R, U><<<static_cast<unsigned>(grid), 256, 0, stream>>>(x, n4, blocks_per_row, amax_dev,
                                                                                            reinterpret_cast<uint16_t*>(packed), scales, blocked);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// The checks and the blocked layout's zero padding both NVFP4 entry points make; the shape as the kernels take it.
struct Nvfp4Shape {
  int64_t n4, blocks_per_row;
  bool blocked;
};
template <typename T>
Nvfp4Shape nvfp4_prepare(const T* x, int64_t rows, int64_t cols, uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream) {
  SIXBIT_CHECK(cols % 16 == 0, "NVFP4: last dimension ", cols, " is not a multiple of 16");
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(x) % (4 * sizeof(T)) == 0, "NVFP4: input must be ", 4 * sizeof(T), "-byte aligned");
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(packed) % 2 == 0, "NVFP4: packed output must be 2-byte aligned");
  const bool blocked = layout == quant::ScaleLayout::kBlocked128x4;
  if (blocked) {
    const int64_t padded = (rows + 127) / 128 * 128 * ((cols / 16 + 3) / 4 * 4);
    SIXBIT_CUDA_CHECK(cudaMemsetAsync(scales, 0, static_cast<size_t>(padded), stream));
  }
  return {rows * cols / 4, cols / 16, blocked};
}

// Calls f(std::integral_constant<quant::Nvfp4Recipe, R>{}) for the run-time recipe: the recipe is a template argument
// of the kernels, so no per-element switch.
template <class F>
void with_recipe(quant::Nvfp4Recipe recipe, F&& f) {
  using quant::Nvfp4Recipe;
  switch (recipe) {
    case Nvfp4Recipe::kTe: return f(std::integral_constant<Nvfp4Recipe, Nvfp4Recipe::kTe>{});
    case Nvfp4Recipe::kCutlass: return f(std::integral_constant<Nvfp4Recipe, Nvfp4Recipe::kCutlass>{});
    case Nvfp4Recipe::kModelopt: return f(std::integral_constant<Nvfp4Recipe, Nvfp4Recipe::kModelopt>{});
    case Nvfp4Recipe::kTorchao: return f(std::integral_constant<Nvfp4Recipe, Nvfp4Recipe::kTorchao>{});
  }
  SIXBIT_CHECK(false, "NVFP4: unknown recipe ", static_cast<int>(recipe));
}

// The quantize pass of the two-pass scheme on a prepared shape (the amax already on the device).
template <typename T>
void nvfp4_quantize_pass(const T* x, const Nvfp4Shape& sh, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed, uint8_t* scales,
                         cudaStream_t stream) {
  if (sh.n4 == 0) return;
  with_recipe(recipe, [&](auto r) { nvfp4_launch<T, decltype(r)::value>(x, sh.n4, sh.blocks_per_row, amax_dev, packed, scales, sh.blocked, stream); });
}

template <typename T>
void nvfp4_quantize_impl(const T* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed, uint8_t* scales,
                         quant::ScaleLayout layout, cudaStream_t stream) {
  nvfp4_quantize_pass(x, nvfp4_prepare(x, rows, cols, packed, scales, layout, stream), recipe, amax_dev, packed, scales, stream);
}

// NVFP4 with its amax in one launch (quantize_fused_amax_kernels.cuh): 4 blocks of 256 threads per SM, as the two-pass kernel runs
// (64 registers: the register file holds exactly 4), each keeping up to 3 units of 16 KB: 192 KB of an SM's 228 KB of
// shared memory, 25 MB on a 132-SM H100; with L2 (50 MB) holding the last units read, a tensor of up to ~60-70 MB
// is read from DRAM about once. Where cooperative launch is missing (or fewer blocks fit than planned: the grid follows
// the occupancy the driver reports, so the barrier cannot deadlock), the bits are the same.
template <typename T>
void nvfp4_quantize_fused_amax_impl(const T* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, float* amax_dev, unsigned int* nan_count_dev,
                                    uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream) {
  const Nvfp4Shape sh = nvfp4_prepare(x, rows, cols, packed, scales, layout, stream);
  int dev = 0, cooperative = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&dev));
  SIXBIT_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, dev));
  if (!cooperative || sh.n4 == 0) {  // the two launches
    tensor_amax_impl(x, rows * cols, amax_dev, nan_count_dev, stream);
    return nvfp4_quantize_pass(x, sh, recipe, amax_dev, packed, scales, stream);
  }
  SIXBIT_CUDA_CHECK(cudaMemsetAsync(amax_dev, 0, sizeof(float), stream));
  if (nan_count_dev) SIXBIT_CUDA_CHECK(cudaMemsetAsync(nan_count_dev, 0, sizeof(unsigned int), stream));
  constexpr int U = sizeof(T) == 4 ? 4 : 8, kThreads = 256, kPlannedPerSm = 4, kMaxKept = 3;
  constexpr size_t kUnitBytes = size_t{kThreads} * U * sizeof(kernels::Raw4<T>);  // 16 KB
  const int64_t units = (sh.n4 + kThreads * U - 1) / (kThreads * U);
  const int sms = sm_count();
  const int kept = static_cast<int>(std::min<int64_t>(kMaxKept, (units + int64_t{sms} * kPlannedPerSm - 1) / (int64_t{sms} * kPlannedPerSm)));
  const size_t smem = kept * kUnitBytes;
  with_recipe(recipe, [&](auto r) {
    const auto kernel = kernels::nvfp4_quantize_fused_amax_kernel<T, decltype(r)::value, U>;
    // 48 KB of dynamic plus the static reduction scratch passes the 48 KB a block gets without opting in.
    static std::once_flag opt_in;  // one per instantiation of this lambda's body (per T and recipe)
    std::call_once(opt_in, [&] {
      SIXBIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxKept * kUnitBytes)));
    });
    int per_sm = 0;
    SIXBIT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, smem));
    SIXBIT_CHECK(per_sm >= 1, "NVFP4 fused-amax quantize: no block fits on an SM (", smem, " bytes of shared memory)");
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(units, int64_t{per_sm} * sms));
    auto* amax_bits = reinterpret_cast<unsigned int*>(amax_dev);
    auto* packed16 = reinterpret_cast<uint16_t*>(packed);
    int64_t n4 = sh.n4, bpr = sh.blocks_per_row;
    int kept_units = kept;
    bool blocked = sh.blocked;
    void* args[] = {const_cast<T**>(&x), &n4, &bpr, &kept_units, &amax_bits, &nan_count_dev, &packed16, &scales, &blocked};
    SIXBIT_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), dim3(grid), dim3(kThreads), args, smem, stream));
    SIXBIT_CUDA_CHECK_LAUNCH();
  });
}

template <typename T, int V>
void int8_regs_launch(const T* x, int64_t rows, int64_t cols, int threads, int8_t* codes, float* scales, cudaStream_t stream) {
  kernels::int8_quantize_rows_regs_kernel<T, V><<<static_cast<unsigned>(rows), threads, 0, stream>>>(x, cols, codes, scales);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// The register kernel holds up to 16 float4 x 512 threads = 32768 values per row; the smallest V whose thread count
// (cols/4 / V, rounded up to a warp) fits 512 is taken, with V >= 2 for fp32 and V >= 4 for bf16: >= 32 B of loads in
// flight per thread, so even at full occupancy (2048 threads, 26-40 registers) an SM has ~64 KB outstanding, above
// the ~25-45 KB that HBM3 latency times per-SM bandwidth needs. (bf16 rows with V = 2, 16 B per thread, ran at
// 0.81-0.84x copy on the H100 at K = 1536; V = 4: 0.90-0.91x; docs/perf-h100.md.) Wider or unaligned rows take the
// two-read kernel.
template <typename T>
void int8_quantize_rows_impl(const T* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream) {
  SIXBIT_CHECK(rows <= 0x7FFFFFFF, "INT8: ", rows, " rows exceed the grid limit");
  if (rows == 0) return;
  const bool vec = cols % 4 == 0 && reinterpret_cast<uintptr_t>(x) % (4 * sizeof(T)) == 0 && reinterpret_cast<uintptr_t>(codes) % 4 == 0;
  if (vec && cols > 0) {
    const int64_t n4 = cols / 4;
    auto threads_for = [&](int64_t v) { return (((n4 + v - 1) / v + 31) / 32) * 32; };
    if constexpr (sizeof(T) == 4) {
      if (threads_for(2) <= 512) return int8_regs_launch<T, 2>(x, rows, cols, static_cast<int>(threads_for(2)), codes, scales, stream);
    }
    if (threads_for(4) <= 512) return int8_regs_launch<T, 4>(x, rows, cols, static_cast<int>(threads_for(4)), codes, scales, stream);
    if (threads_for(8) <= 512) return int8_regs_launch<T, 8>(x, rows, cols, static_cast<int>(threads_for(8)), codes, scales, stream);
    if (threads_for(16) <= 512) return int8_regs_launch<T, 16>(x, rows, cols, static_cast<int>(threads_for(16)), codes, scales, stream);
  }
  kernels::int8_quantize_rows_kernel<T><<<static_cast<unsigned>(rows), 256, 0, stream>>>(x, cols, vec, codes, scales);
  SIXBIT_CUDA_CHECK_LAUNCH();
}
}  // namespace

void tensor_amax(const float* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream) {
  tensor_amax_impl(x, n, amax_dev, nan_count_dev, stream);
}
void tensor_amax_bf16(const __nv_bfloat16* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream) {
  tensor_amax_impl(x, n, amax_dev, nan_count_dev, stream);
}

void nvfp4_quantize(const float* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed, uint8_t* scales,
                    quant::ScaleLayout layout, cudaStream_t stream) {
  nvfp4_quantize_impl(x, rows, cols, recipe, amax_dev, packed, scales, layout, stream);
}
void nvfp4_quantize_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed,
                         uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream) {
  nvfp4_quantize_impl(x, rows, cols, recipe, amax_dev, packed, scales, layout, stream);
}
void nvfp4_quantize_fused_amax(const float* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, float* amax_dev, unsigned int* nan_count_dev,
                               uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream) {
  nvfp4_quantize_fused_amax_impl(x, rows, cols, recipe, amax_dev, nan_count_dev, packed, scales, layout, stream);
}
void nvfp4_quantize_fused_amax_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, float* amax_dev,
                                    unsigned int* nan_count_dev, uint8_t* packed, uint8_t* scales, quant::ScaleLayout layout, cudaStream_t stream) {
  nvfp4_quantize_fused_amax_impl(x, rows, cols, recipe, amax_dev, nan_count_dev, packed, scales, layout, stream);
}

void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream) {
  int8_quantize_rows_impl(x, rows, cols, codes, scales, stream);
}
void int8_quantize_rows_bf16(const __nv_bfloat16* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream) {
  int8_quantize_rows_impl(x, rows, cols, codes, scales, stream);
}

}  // namespace sixbit::cuda
