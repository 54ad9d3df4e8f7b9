// Launcher for the fused Hopper W8A8 GEMM (cuda/gemm_w8a8_sm90.cuh): checks that it can run, builds the two TMA
// tensor maps (driver entry point cuTensorMapEncodeTiled, fetched through the runtime so nothing links libcuda),
// sizes a persistent grid of one CTA per SM. Test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh).
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled

#include <algorithm>
#include <mutex>
#include <string>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/gemm_w8a8_sm90.cuh"

namespace sixbit::cuda {

namespace {
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q) == cudaSuccess &&
        q == cudaDriverEntryPointSuccess)
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
    cudaGetLastError();
  });
  return fn;
}

// A row-major [rows, cols] matrix as a 2D tensor map with boxes of box_rows x 128 bytes, 128-byte swizzled (the
// layout wgmma_desc_k_major_sw128 and swizzle128_offset describe); loads past the end read zeros, stores past the
// end are dropped. TMA's rules: base 16-byte aligned, row pitch a multiple of 16 bytes (checked by the callers).
CUtensorMap k_major_map(CUtensorMapDataType type, int elem_bytes, const void* base, int64_t rows, int64_t cols, uint32_t box_rows) {
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols * elem_bytes)};  // bytes between rows (the innermost stride is implied)
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(128 / elem_bytes), box_rows};
  const cuuint32_t elem_strides[2] = {1, 1};
  const CUresult r = tensor_map_encoder()(&map, type, 2, const_cast<void*>(base), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                          CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  SIXBIT_CHECK(r == CUDA_SUCCESS, "cuTensorMapEncodeTiled failed (CUresult ", static_cast<int>(r), ") for a [", rows, ", ", cols, "] matrix");
  return map;
}
CUtensorMapDataType tensor_map_type(const float*) { return CU_TENSOR_MAP_DATA_TYPE_FLOAT32; }
CUtensorMapDataType tensor_map_type(const __nv_bfloat16*) { return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; }

template <typename OutT>
void gemm_w8a8_sm90_impl(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, OutT* y, int64_t M, int64_t N,
                         int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(M >= 0 && N >= 0 && K >= 0, "W8A8 sm90: negative GEMM shape");
  SIXBIT_CHECK(K % 16 == 0 && K > 0, "W8A8 sm90: K = ", K, " is not a positive multiple of 16");
  SIXBIT_CHECK(M < (int64_t{1} << 31) && N < (int64_t{1} << 31) && K < 130000, "W8A8 sm90: shape too large (M=", M, ", N=", N, ", K=", K, ")");
  if (M == 0 || N == 0) return;
  int dev = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&dev));
  std::string why;
  SIXBIT_CHECK(w8a8_sm90_supported(dev, &why), "W8A8 sm90 cannot run: ", why);
  SIXBIT_CHECK(reinterpret_cast<uintptr_t>(a) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0,
               "W8A8 sm90: A and W must be 16-byte aligned (bulk tensor copies)");
  const auto aligned = [](const void* p, size_t align) { return reinterpret_cast<uintptr_t>(p) % align == 0; };
  const bool pairs = N % 2 == 0 && aligned(y, 2 * sizeof(OutT));
  // The TMA-store epilogue needs Y's rows to be whole 16-byte units; otherwise the kernel stores from registers.
  const bool tma_y = (N * static_cast<int64_t>(sizeof(OutT))) % 16 == 0 && aligned(y, 16);
  const CUtensorMap map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K, sm90::kW8a8BM);
  const CUtensorMap map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, w, N, K, sm90::kW8a8BN);
  const CUtensorMap map_y = tma_y ? k_major_map(tensor_map_type(y), sizeof(OutT), y, M, N, 64) : CUtensorMap{};
  const auto kernel = sm90::gemm_w8a8_sm90_kernel<OutT>;
  static std::once_flag smem_once;  // per OutT (one instantiation of this function each)
  std::call_once(smem_once, [&] {
    SIXBIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sm90::kW8a8SmemBytes));
  });
  const int64_t tiles = ((M + sm90::kW8a8BM - 1) / sm90::kW8a8BM) * ((N + sm90::kW8a8BN - 1) / sm90::kW8a8BN);
  const int grid = static_cast<int>(std::min<int64_t>(tiles, sm_count()));
  kernel<<<grid, sm90::kW8a8Threads, sm90::kW8a8SmemBytes, stream>>>(map_a, map_w, map_y, sa, sw, bias, y, M, N, K, tma_y, pairs);
  SIXBIT_CUDA_CHECK_LAUNCH();
}
}  // namespace

bool w8a8_sm90_supported(int device, std::string* why) {
  const auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();
    return no("no CUDA device " + std::to_string(device));
  }
  if (major != 9 || minor != 0)
    return no("wgmma needs compute capability 9.0 (Hopper); device " + std::to_string(device) + " is " + std::to_string(major) + "." +
              std::to_string(minor));
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, sm90::gemm_w8a8_sm90_kernel<float>) != cudaSuccess || attr.binaryVersion != 90) {
    cudaGetLastError();
    return no("this build has no sm_90a code for the kernel (configure with CMAKE_CUDA_ARCHITECTURES containing 90a)");
  }
  if (tensor_map_encoder() == nullptr) return no("the driver has no cuTensorMapEncodeTiled");
  return true;
}

void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N,
                    int64_t K, cudaStream_t stream) {
  gemm_w8a8_sm90_impl(a, sa, w, sw, bias, y, M, N, K, stream);
}
void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, __nv_bfloat16* y, int64_t M,
                    int64_t N, int64_t K, cudaStream_t stream) {
  gemm_w8a8_sm90_impl(a, sa, w, sw, bias, y, M, N, K, stream);
}

}  // namespace sixbit::cuda
