// Launchers for the Hopper GEMMs with fused epilogues (cuda/gemm_sm90.cuh): check that they can run, build the TMA
// tensor maps (driver entry point cuTensorMapEncodeTiled, fetched through the runtime so nothing links libcuda),
// size a persistent grid of one CTA per SM. Test: tests/gpu/gpu_gemm_sm90.cpp; bench: cuda_bench (scripts/device.sh).
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled
#include <cuda_fp16.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "cuda/backend.hpp"
#include "cuda/check.cuh"
#include "cuda/gemm_sm90.cuh"
#include "cuda/gemm_sm90_exact.cuh"
#include "cuda/gemm_sm90_pingpong.cuh"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"

namespace sixbit::cuda {

namespace {
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
#if CUDART_VERSION >= 12050
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q);
#else
    const cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &p, cudaEnableDefault, &q);
#endif
    if (e == cudaSuccess && q == cudaDriverEntryPointSuccess)
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
    cudaGetLastError();
  });
  return fn;
}

// A row-major [rows, cols] matrix as a 2D tensor map with boxes of box_rows x box_bytes; with the 128-byte swizzle
// (box_bytes = 128) it is the layout wgmma_desc_k_major_sw128 and swizzle128_offset describe. Loads past the end read
// zeros, stores past the end are dropped. TMA's rules: base 16-byte aligned, row pitch a multiple of 16 bytes
// (checked by the callers).
CUtensorMap k_major_map(CUtensorMapDataType type, int elem_bytes, const void* base, int64_t rows, int64_t cols, uint32_t box_rows,
                        uint32_t box_bytes, CUtensorMapSwizzle swizzle) {
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols * elem_bytes)};  // bytes between rows (the innermost stride is implied)
  const cuuint32_t box[2] = {box_bytes / static_cast<uint32_t>(elem_bytes), box_rows};
  const cuuint32_t elem_strides[2] = {1, 1};
  const CUresult r = tensor_map_encoder()(&map, type, 2, const_cast<void*>(base), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                          swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  SIXBIT_CHECK(r == CUDA_SUCCESS, "cuTensorMapEncodeTiled failed (CUresult ", static_cast<int>(r), ") for a [", rows, ", ", cols, "] matrix");
  return map;
}
CUtensorMapDataType tensor_map_type(const float*) { return CU_TENSOR_MAP_DATA_TYPE_FLOAT32; }
CUtensorMapDataType tensor_map_type(const __nv_bfloat16*) { return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16; }

bool aligned(const void* p, size_t align) { return reinterpret_cast<uintptr_t>(p) % align == 0; }

// A and W maps per recipe (the boxes gemm_sm90.cuh's Op structs describe).
void operand_maps(sm90::W8A8Sm90, const void* a, const void* w, int64_t M, int64_t N, int64_t K, CUtensorMap* map_a, CUtensorMap* map_w) {
  *map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K, sm90::kBM, 128, CU_TENSOR_MAP_SWIZZLE_128B);
  *map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, w, N, K, sm90::kBN, 128, CU_TENSOR_MAP_SWIZZLE_128B);
}
void operand_maps(sm90::W4A4FastSm90, const void* a, const void* w, int64_t M, int64_t N, int64_t K, CUtensorMap* map_a, CUtensorMap* map_w) {
  *map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K / 2, sm90::kBM, 32, CU_TENSOR_MAP_SWIZZLE_NONE);
  *map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, w, N, fast_sm90_padded_k(K), sm90::kBN, 128, CU_TENSOR_MAP_SWIZZLE_128B);
}
void operand_maps(sm90::W4A8FastSm90, const void* a, const void* w, int64_t M, int64_t N, int64_t K, CUtensorMap* map_a, CUtensorMap* map_w) {
  *map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K, sm90::kBM, 64, CU_TENSOR_MAP_SWIZZLE_NONE);
  *map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, w, N, fast_sm90_padded_k(K), sm90::kBN, 128, CU_TENSOR_MAP_SWIZZLE_128B);
}
// The exact W4A8 reads 4-byte words across A's row (W4A8ExactSm90::load_rows): 64-byte swizzle, conflict-free.
void operand_maps(sm90::W4A8ExactSm90, const void* a, const void* w, int64_t M, int64_t N, int64_t K, CUtensorMap* map_a, CUtensorMap* map_w) {
  *map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K, sm90::kBM, 64, CU_TENSOR_MAP_SWIZZLE_64B);
  *map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, w, N, fast_sm90_padded_k(K), sm90::kBN, 128, CU_TENSOR_MAP_SWIZZLE_128B);
}
void operand_maps(sm90::W4A4ExactSm90, const void* a, const void* w, int64_t M, int64_t N, int64_t K, CUtensorMap* map_a, CUtensorMap* map_w) {
  operand_maps(sm90::W4A4FastSm90{}, a, w, M, N, K, map_a, map_w);
}

// What the dequantizer below and the kernels' fragments rely on: a permutation of 0..63 that keeps each pair
// (2i, 2i + 1) together, in order, starting at an even K index (one packed byte's two nibbles); the block-exact
// order also keeps every element in its 16-element block (one wgmma k16 step = one NVFP4 block).
template <class Op>
constexpr bool k_order_valid(bool within_blocks) {
  bool seen[64] = {};
  for (int kp = 0; kp < 64; ++kp) {
    const int k = Op::k_source(kp);
    if (k < 0 || k >= 64 || seen[k] || (kp % 2 == 0 ? k % 2 != 0 : k != Op::k_source(kp - 1) + 1)) return false;
    if (within_blocks && k / 16 != kp / 16) return false;
    seen[k] = true;
  }
  return true;
}
static_assert(k_order_valid<sm90::W4A8FastSm90>(false) && k_order_valid<sm90::W4A4FastSm90>(false),
              "register_a_k_source must permute each K block of 64, pairs kept together");
static_assert(k_order_valid<sm90::W4A8ExactSm90>(true) && k_order_valid<sm90::W4A4ExactSm90>(true),
              "exact_k_source must permute within each 16-element block, pairs kept together");

// The NVFP4 W [N, K] (row-major scales) dequantized exactly (as nvfp4_dequantize_bf16, times Op::kWUnit, a power of
// two) to bf16 (W4A8) or fp16 (W4A4) in the kernel's K order, [N, padded K]: stored column 64 b + kp holds
// kWUnit * W[:, 64 b + Op::k_source(kp)], zeros past K. One thread per stored pair: kp and kp + 1 are K indices k and
// k + 1, the two nibbles of one packed byte. Run once per weight (w_packed != nullptr), so plain per-element code.
template <class Op, bool kFp16>
__global__ void nvfp4_dequantize_sm90_order(const uint8_t* __restrict__ packed, const uint8_t* __restrict__ scales, int64_t N, int64_t K,
                                            int64_t padded_k, uint32_t* __restrict__ out) {
  const int64_t pairs_per_row = padded_k / 2;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < N * pairs_per_row; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t n = i / pairs_per_row, kp = 2 * (i % pairs_per_row);
    const int64_t k = (kp / 64) * 64 + Op::k_source(static_cast<int>(kp % 64));
    uint32_t v = 0;
    if (k < K) {
      const uint8_t b = packed[n * (K / 2) + k / 2];
      const float s = fmt::ue4m3_decode(scales[n * (K / 16) + k / 16]);
      // e2m1 * s has <= 6 significant bits (exact in fp32, bf16 and fp16), and times a power of two stays exact.
      const float lo = fmt::e2m1_decode(fmt::e2m1_unpack(b, 0)) * s * Op::kWUnit, hi = fmt::e2m1_decode(fmt::e2m1_unpack(b, 1)) * s * Op::kWUnit;
      if constexpr (kFp16) {
        const __half2 h = __floats2half2_rn(lo, hi);
        v = *reinterpret_cast<const uint32_t*>(&h);
      } else {
        v = bf16x2_bits(lo, hi);
      }
    }
    out[i] = v;
  }
}

// Writes a register-A kernel's W workspace when the call brings the packed weight (w_packed = nullptr reuses it as is).
template <class Op, bool kFp16>
void prepare_w_sm90_order(const char* what, const uint8_t* w_packed, const uint8_t* w_scales, int64_t N, int64_t K, void* out, cudaStream_t stream) {
  if (w_packed == nullptr) return;
  SIXBIT_CHECK(w_scales != nullptr, what, ": w_packed without w_scales");
  const int64_t pairs = N * fast_sm90_padded_k(K) / 2;
  const int threads = 256;
  const int64_t grid = std::min<int64_t>((pairs + threads - 1) / threads, int64_t{1} << 20);
  nvfp4_dequantize_sm90_order<Op, kFp16><<<static_cast<unsigned>(grid), threads, 0, stream>>>(w_packed, w_scales, N, K, fast_sm90_padded_k(K),
                                                                                         static_cast<uint32_t*>(out));
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// How a launch stores Y: tma_y when Y's rows are whole 16-byte units and Y is 16-byte aligned (the TMA-store
// epilogue), otherwise from registers (pairs: 2-wide stores allowed).
struct Sm90Store {
  bool tma_y = false, pairs = false;
};

// The checks every Hopper GEMM call makes, once, before it picks and launches a kernel; nullopt for an empty output
// (nothing to launch).
template <typename OutT>
std::optional<Sm90Store> check_sm90_call(const char* what, const void* a, const void* w, const OutT* y, int64_t M, int64_t N, int64_t K) {
  SIXBIT_CHECK(M >= 0 && N >= 0 && K >= 0, what, ": negative GEMM shape");
  SIXBIT_CHECK(K % 16 == 0 && K > 0, what, ": K = ", K, " is not a positive multiple of 16");
  SIXBIT_CHECK(M < (int64_t{1} << 31) && N < (int64_t{1} << 31) && K < 130000, what, ": shape too large (M=", M, ", N=", N, ", K=", K, ")");
  if (M == 0 || N == 0) return std::nullopt;
  int dev = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&dev));
  std::string why;
  SIXBIT_CHECK(sm90_gemm_supported(dev, &why), what, " cannot run: ", why);
  SIXBIT_CHECK(aligned(a, 16) && aligned(w, 16), what, ": A and W must be 16-byte aligned (bulk tensor copies)");
  Sm90Store st;
  st.pairs = N % 2 == 0 && aligned(y, 2 * sizeof(OutT));
  st.tma_y = (N * static_cast<int64_t>(sizeof(OutT))) % 16 == 0 && aligned(y, 16);
  return st;
}

template <class Op, typename OutT>
void gemm_sm90(const void* a, const void* w, const sm90::EpilogueArgs& ep, const sm90::MainloopArgs& ml, OutT* y, int64_t M, int64_t N, int64_t K,
               Sm90Store st, cudaStream_t stream) {
  const bool tma_y = st.tma_y, pairs = st.pairs;
  CUtensorMap map_a, map_w;
  operand_maps(Op{}, a, w, M, N, K, &map_a, &map_w);
  const CUtensorMap map_y = tma_y ? k_major_map(tensor_map_type(y), sizeof(OutT), y, M, N, 64, 128, CU_TENSOR_MAP_SWIZZLE_128B) : CUtensorMap{};
  const auto kernel = sm90::gemm_sm90_kernel<Op, OutT>;
  constexpr int smem = sm90::SmemLayout<Op>::kBytes;
  static std::once_flag smem_once;  // per <Op, OutT> (one instantiation of this function each)
  std::call_once(smem_once, [&] { SIXBIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem)); });
  const int64_t tiles = ((M + sm90::kBM - 1) / sm90::kBM) * ((N + sm90::kBN - 1) / sm90::kBN);
  const int grid = static_cast<int>(std::min<int64_t>(tiles, sm_count()));
  kernel<<<grid, sm90::kThreads, smem, stream>>>(map_a, map_w, map_y, ep, ml, y, M, N, K, tma_y, pairs);
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// The ping-pong kernel's launch: clusters of kCluster CTAs along x, its shared memory, and how many clusters can be
// resident at once (asked of the occupancy API once per instantiation; 0 where such a cluster cannot be placed).
template <typename OutT, int kCluster, int kTileN>
struct PingpongLaunch {
  static constexpr int kSmem = sm90::pingpong::SmemLayout<kTileN>::kBytes;
  cudaLaunchConfig_t cfg{};
  cudaLaunchAttribute cluster{};
  PingpongLaunch() {
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = kCluster, cluster.val.clusterDim.y = 1, cluster.val.clusterDim.z = 1;
    cfg.blockDim = dim3(sm90::pingpong::kThreads), cfg.dynamicSmemBytes = kSmem;
    cfg.attrs = &cluster, cfg.numAttrs = 1;
  }
  PingpongLaunch(const PingpongLaunch&) = delete;  // cfg.attrs points into this object
  static constexpr auto kernel() { return sm90::pingpong::w8a8_pingpong_kernel<OutT, kCluster, kTileN>; }
  static int resident_clusters() {
    static int resident = 0;
    static std::once_flag once;
    std::call_once(once, [] {
      PingpongLaunch probe;
      probe.cfg.gridDim = dim3(static_cast<unsigned>(std::max(sm_count() / kCluster, 1) * kCluster));
      if (cudaFuncSetAttribute(kernel(), cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem) != cudaSuccess ||
          cudaOccupancyMaxActiveClusters(&resident, kernel(), &probe.cfg) != cudaSuccess)
        resident = 0, cudaGetLastError();
    });
    return resident;
  }
};

// W8A8 on the ping-pong kernel (gemm_sm90_pingpong.cuh): a persistent grid of as many clusters as can be resident,
// at most one per unit of kCluster vertically adjacent 128 x kTileN tiles.
template <typename OutT, int kCluster, int kTileN>
void w8a8_pingpong_sm90(const int8_t* a, const int8_t* w, const sm90::EpilogueArgs& ep, OutT* y, int64_t M, int64_t N, int64_t K, Sm90Store st,
                        cudaStream_t stream) {
  namespace pp = sm90::pingpong;
  // W8A8's epilogue has no alpha, and this kernel does not resolve EpilogueArgs::alpha_dev (with_device_alpha).
  SIXBIT_CHECK(ep.alpha_dev == nullptr, "W8A8 sm90 ping-pong: alpha from device memory is not supported");
  const bool tma_y = st.tma_y, pairs = st.pairs;
  using Launch = PingpongLaunch<OutT, kCluster, kTileN>;
  const int resident = Launch::resident_clusters();
  SIXBIT_CHECK(resident > 0, "W8A8 sm90 ping-pong: no cluster of ", kCluster, " CTAs with ", Launch::kSmem,
               " bytes of shared memory each fits on this device");
  const CUtensorMap map_a = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, a, M, K, pp::kBM, 128, CU_TENSOR_MAP_SWIZZLE_128B);
  const CUtensorMap map_w = k_major_map(CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, w, N, K, kTileN / kCluster, 128, CU_TENSOR_MAP_SWIZZLE_128B);
  constexpr uint32_t kSlabRows = 64 * pp::TileShape<kTileN>::kSlabFrags;
  const CUtensorMap map_y = tma_y ? k_major_map(tensor_map_type(y), sizeof(OutT), y, M, N, kSlabRows, 128, CU_TENSOR_MAP_SWIZZLE_128B) : CUtensorMap{};
  Launch launch;
  const int64_t units = ((((M + pp::kBM - 1) / pp::kBM) + kCluster - 1) / kCluster) * ((N + kTileN - 1) / kTileN);
  // The kernel walks tiles with 32-bit indices (u += 2 * grid stays below 2^31 too).
  SIXBIT_CHECK(units < (int64_t{1} << 30), "W8A8 sm90 ping-pong: ", units, " tiles is more than the kernel's 32-bit tile index allows");
  launch.cfg.gridDim = dim3(static_cast<unsigned>(kCluster * std::min<int64_t>(units, resident)));
  launch.cfg.stream = stream;
  SIXBIT_CUDA_CHECK(cudaLaunchKernelEx(&launch.cfg, Launch::kernel(), map_a, map_w, map_y, ep, y, M, N, K, tma_y, pairs));
  SIXBIT_CUDA_CHECK_LAUNCH();
}

// kAuto's rule. The ping-pong kernels hide the epilogue; with 128 x 128 tiles their main loop is slower than the
// cooperative one (H100: 1250-1290 against 1560-1600 TOP/s at K = 8960: 40 against 32 KB per 10^6 MACs through shared
// memory), with 128 x 192 tiles (33 KB) about as fast (1.89-1.91x against 1.91-1.94x bf16 at K = 8960). Measured by
// cuda_bench's "W8A8 schedules" rows (M = 32760, N = 1536, K = 1536 ... 6144; docs/perf-h100.md): the 128 x 192 cluster
// kernel is the fastest at every K up to 6144 with either output type, the cooperative one at K = 8960. The
// cooperative kernel also runs wherever no 2-CTA cluster of the wide kernel can be placed.
// (Called after check_sm90_call: the device can run the kernels.)
template <typename OutT>
Sm90Schedule w8a8_auto_schedule(int64_t K) {
  constexpr int64_t kPingpongMaxK = 6144;
  return K <= kPingpongMaxK && PingpongLaunch<OutT, 2, 192>::resident_clusters() > 0 ? Sm90Schedule::kPingpongWideCluster2 : Sm90Schedule::kCooperative;
}

template <typename OutT>
void w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, OutT* y, int64_t M, int64_t N, int64_t K,
               cudaStream_t stream, Sm90Schedule schedule) {
  SIXBIT_CHECK(sa != nullptr && sw != nullptr, "W8A8 sm90: the row scales sa and column scales sw are required (bias may be null)");
  const std::optional<Sm90Store> st = check_sm90_call("W8A8 sm90", a, w, y, M, N, K);
  if (!st) return;
  sm90::EpilogueArgs ep;
  ep.row_scale = sa, ep.col_scale = sw, ep.bias = bias;
  if (schedule == Sm90Schedule::kAuto) schedule = w8a8_auto_schedule<OutT>(K);
  switch (schedule) {
    case Sm90Schedule::kCooperative: return gemm_sm90<sm90::W8A8Sm90>(a, w, ep, {}, y, M, N, K, *st, stream);
    case Sm90Schedule::kPingpong: return w8a8_pingpong_sm90<OutT, 1, 128>(a, w, ep, y, M, N, K, *st, stream);
    case Sm90Schedule::kPingpongCluster2: return w8a8_pingpong_sm90<OutT, 2, 128>(a, w, ep, y, M, N, K, *st, stream);
    case Sm90Schedule::kPingpongWideCluster2: return w8a8_pingpong_sm90<OutT, 2, 192>(a, w, ep, y, M, N, K, *st, stream);
    case Sm90Schedule::kAuto: break;
  }
  SIXBIT_CHECK(false, "W8A8 sm90: unknown schedule ", static_cast<int>(schedule));
}

// W4A8 on a register-A recipe (fast or block-exact): int8 A with its row scales, the NVFP4 W put into the recipe's
// workspace when w_packed comes with the call; y = Op::value(acc, sa[m], -, alpha) (+ bias[n]).
template <class Op, typename OutT>
void w4a8_sm90(const char* what, const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float alpha, const float* bias,
               OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  SIXBIT_CHECK(sa != nullptr && w_workspace != nullptr, what, ": the row scales sa and the 16-bit W workspace are required");
  const std::optional<Sm90Store> st = check_sm90_call(what, a, w_workspace, y, M, N, K);
  if (!st) return;  // (an empty call does not dequantize W either)
  prepare_w_sm90_order<Op, Op::kWFp16>(what, w_packed, w_scales, N, K, w_workspace, stream);
  sm90::EpilogueArgs ep;
  ep.row_scale = sa, ep.bias = bias, ep.alpha = alpha;
  gemm_sm90<Op>(a, w_workspace, ep, {}, y, M, N, K, *st, stream);
}

// W4A4 on a register-A recipe: packed NVFP4 A and its row-major block scales (K % 32 == 0: TMA's 16-byte row pitch),
// W as above; y = Op::value(acc, -, -, alpha) (+ bias[n]), alpha_dev (if set) replacing alpha.
template <class Op, typename OutT>
void w4a4_sm90(const char* what, const char* other, const uint8_t* a_packed, const uint8_t* a_scales, const uint8_t* w_packed, const uint8_t* w_scales,
               float alpha, const float* bias, const float* alpha_dev, OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K,
               cudaStream_t stream) {
  SIXBIT_CHECK(a_scales != nullptr && w_workspace != nullptr, what, ": A's scales and the fp16 W workspace are required");
  SIXBIT_CHECK(K % 32 == 0, what, ": K = ", K, " is not a multiple of 32 (the packed A rows must be 16-byte units for TMA); use ", other);
  const std::optional<Sm90Store> st = check_sm90_call(what, a_packed, w_workspace, y, M, N, K);
  if (!st) return;
  prepare_w_sm90_order<Op, Op::kWFp16>(what, w_packed, w_scales, N, K, w_workspace, stream);
  sm90::EpilogueArgs ep;
  ep.alpha = alpha, ep.alpha_dev = alpha_dev, ep.bias = bias;
  sm90::MainloopArgs ml;
  ml.a_scales = a_scales, ml.a_scale_stride = K / 16;
  ml.a_scale_words = reinterpret_cast<uintptr_t>(a_scales) % 4 == 0 && (K / 16) % 4 == 0;
  gemm_sm90<Op>(a_packed, w_workspace, ep, ml, y, M, N, K, *st, stream);
}

// The fast recipes' W holds real values (e2m1 * sw): alpha = gw (W4A8, then y = (acc * sa) * gw) or RN(ga * gw)
// (W4A4, as gemm_w4a4_fast). The exact ones use the emulator's own alphas (w4a8_alpha, w4a4_alpha, on the host).
template <typename OutT>
void w4a8_fast_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                    OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_sm90<sm90::W4A8FastSm90>("W4A8 fast sm90", a, sa, w_packed, w_scales, w_global_decode, bias, y, w_workspace, M, N, K, stream);
}
template <typename OutT>
void w4a8_exact_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode, const float* bias,
                     OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_sm90<sm90::W4A8ExactSm90>("W4A8 exact sm90", a, sa, w_packed, w_scales, gemm::w4a8_alpha(w_global_decode), bias, y, w_workspace, M, N, K,
                                 stream);
}
template <typename OutT>
void w4a4_fast_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                    float w_global_decode, OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                    const W4a4FastEpilogue& extra) {
  w4a4_sm90<sm90::W4A4FastSm90>("W4A4 fast sm90", "gemm_w4a4_fast", a_packed, a_scales, w_packed, w_scales, a_global_decode * w_global_decode,
                                extra.bias, extra.alpha_dev, y, w_workspace, M, N, K, stream);
}
template <typename OutT>
void w4a4_exact_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                     float w_global_decode, const float* bias, OutT* y, void* w_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a4_sm90<sm90::W4A4ExactSm90>("W4A4 exact sm90", "gemm_w4a4_exact", a_packed, a_scales, w_packed, w_scales,
                                 gemm::w4a4_alpha(a_global_decode, w_global_decode), bias, nullptr, y, w_workspace, M, N, K, stream);
}

// Whether the kernels can run on `device`, and why not: asked of the runtime once per device (the module check is a
// device-to-host copy, which every GEMM launch would otherwise pay and which synchronizes with the device).
std::string sm90_unsupported_reason(int device) {
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();
    return "no CUDA device " + std::to_string(device);
  }
  if (major != 9 || minor != 0)
    return "wgmma needs compute capability 9.0 (Hopper); device " + std::to_string(device) + " is " + std::to_string(major) + "." +
           std::to_string(minor);
  // The kernels' bodies exist only in an sm_90a cubin (a plain sm_90 or PTX-JIT build compiles them to a trap): ask
  // the module the driver loaded for this device.
  int device_before = 0, built = 0;
  SIXBIT_CUDA_CHECK(cudaGetDevice(&device_before));
  SIXBIT_CUDA_CHECK(cudaSetDevice(device));
  const cudaError_t e = cudaMemcpyFromSymbol(&built, sm90::kernels_built_for_sm90a, sizeof built);
  cudaGetLastError();
  SIXBIT_CUDA_CHECK(cudaSetDevice(device_before));
  if (e != cudaSuccess || built != 1) return "this build has no sm_90a code for the kernels (configure with CMAKE_CUDA_ARCHITECTURES containing 90a)";
  if (tensor_map_encoder() == nullptr) return "the driver has no cuTensorMapEncodeTiled";
  return "";
}
}  // namespace

const char* sm90_schedule_name(Sm90Schedule s) {
  switch (s) {
    case Sm90Schedule::kAuto: return "auto";
    case Sm90Schedule::kCooperative: return "cooperative";
    case Sm90Schedule::kPingpong: return "ping-pong";
    case Sm90Schedule::kPingpongCluster2: return "ping-pong cluster 2";
    case Sm90Schedule::kPingpongWideCluster2: return "ping-pong 128x192 cluster 2";
  }
  return "unknown";
}

bool sm90_gemm_supported(int device, std::string* why) {
  static std::mutex mutex;
  static std::map<int, std::string> reasons;  // "" = supported
  std::lock_guard<std::mutex> lock(mutex);
  auto it = reasons.find(device);
  if (it == reasons.end()) it = reasons.emplace(device, sm90_unsupported_reason(device)).first;
  if (why) *why = it->second;
  return it->second.empty();
}

void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, float* y, int64_t M, int64_t N,
                    int64_t K, cudaStream_t stream, Sm90Schedule schedule) {
  w8a8_sm90(a, sa, w, sw, bias, y, M, N, K, stream, schedule);
}
void gemm_w8a8_sm90(const int8_t* a, const float* sa, const int8_t* w, const float* sw, const float* bias, __nv_bfloat16* y, int64_t M,
                    int64_t N, int64_t K, cudaStream_t stream, Sm90Schedule schedule) {
  w8a8_sm90(a, sa, w, sw, bias, y, M, N, K, stream, schedule);
}
void gemm_w4a8_fast_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                         const float* bias, float* y, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_fast_sm90(a, sa, w_packed, w_scales, w_global_decode, bias, y, w_bf16_workspace, M, N, K, stream);
}
void gemm_w4a8_fast_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                         const float* bias, __nv_bfloat16* y, void* w_bf16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_fast_sm90(a, sa, w_packed, w_scales, w_global_decode, bias, y, w_bf16_workspace, M, N, K, stream);
}

void gemm_w4a4_fast_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                         float w_global_decode, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                         const W4a4FastEpilogue& extra) {
  w4a4_fast_sm90(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, y, w_f16_workspace, M, N, K, stream, extra);
}
void gemm_w4a4_fast_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                         float w_global_decode, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream,
                         const W4a4FastEpilogue& extra) {
  w4a4_fast_sm90(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, y, w_f16_workspace, M, N, K, stream, extra);
}

void gemm_w4a8_exact_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                          const float* bias, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_exact_sm90(a, sa, w_packed, w_scales, w_global_decode, bias, y, w_f16_workspace, M, N, K, stream);
}
void gemm_w4a8_exact_sm90(const int8_t* a, const float* sa, const uint8_t* w_packed, const uint8_t* w_scales, float w_global_decode,
                          const float* bias, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  w4a8_exact_sm90(a, sa, w_packed, w_scales, w_global_decode, bias, y, w_f16_workspace, M, N, K, stream);
}
void gemm_w4a4_exact_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                          float w_global_decode, const float* bias, float* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K,
                          cudaStream_t stream) {
  w4a4_exact_sm90(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, bias, y, w_f16_workspace, M, N, K, stream);
}
void gemm_w4a4_exact_sm90(const uint8_t* a_packed, const uint8_t* a_scales, float a_global_decode, const uint8_t* w_packed, const uint8_t* w_scales,
                          float w_global_decode, const float* bias, __nv_bfloat16* y, void* w_f16_workspace, int64_t M, int64_t N, int64_t K,
                          cudaStream_t stream) {
  w4a4_exact_sm90(a_packed, a_scales, a_global_decode, w_packed, w_scales, w_global_decode, bias, y, w_f16_workspace, M, N, K, stream);
}

}  // namespace sixbit::cuda
