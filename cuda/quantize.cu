// Launchers for cuda/quantize_kernels.cuh. Build: part of sixbit_cuda; test: tests/gpu (scripts/device.sh).
#include <algorithm>
#include "common/check.hpp"
#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/quantize_kernels.cuh"

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

void tensor_amax(const float* x, int64_t n, float* amax_dev, unsigned int* nan_count_dev, cudaStream_t stream) {
  SIXBIT_CUDA_CHECK(cudaMemsetAsync(amax_dev, 0, sizeof(float), stream));
  if (nan_count_dev) SIXBIT_CUDA_CHECK(cudaMemsetAsync(nan_count_dev, 0, sizeof(unsigned int), stream));
  if (n == 0) return;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, 132 * 16);
  kernels::tensor_amax_kernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(x, n, reinterpret_cast<unsigned int*>(amax_dev), nan_count_dev);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void nvfp4_quantize(const float* x, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax_dev, uint8_t* packed, uint8_t* scales,
                    quant::ScaleLayout layout, cudaStream_t stream) {
  SIXBIT_CHECK(cols % 16 == 0, "NVFP4: last dimension ", cols, " is not a multiple of 16");
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(x) % 16 == 0, "NVFP4: input must be 16-byte aligned");
  const bool blocked = layout == quant::ScaleLayout::kBlocked128x4;
  if (blocked) {
    const int64_t padded = (rows + 127) / 128 * 128 * ((cols / 16 + 3) / 4 * 4);
    SIXBIT_CUDA_CHECK(cudaMemsetAsync(scales, 0, static_cast<size_t>(padded), stream));
  }
  const int64_t blocks = rows * (cols / 16);
  if (blocks == 0) return;
  const int threads = 256;
  kernels::nvfp4_quantize_kernel<<<static_cast<unsigned>((blocks + threads - 1) / threads), threads, 0, stream>>>(x, rows, cols, recipe, amax_dev,
                                                                                                                     packed, scales, blocked);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

void int8_quantize_rows(const float* x, int64_t rows, int64_t cols, int8_t* codes, float* scales, cudaStream_t stream) {
  if (rows == 0) return;
  kernels::int8_quantize_rows_kernel<<<static_cast<unsigned>(rows), 256, 0, stream>>>(x, cols, codes, scales);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

}  // namespace sixbit::cuda
