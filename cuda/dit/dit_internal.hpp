// sixbit/cuda/dit/dit_internal.hpp: what the CudaDitOps sources share (not a public API): the caching device
// allocator with per-category accounting, the device tensor behind model::Mat::dev, and the kernel launchers.
// Build: part of sixbit_cuda_dit (cuda/CMakeLists.txt). Tests: tests/gpu/gpu_dit_{verify,fast}.cpp via scripts/device.sh.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda/dit/dit_ops.hpp"
#include "cuda/dit/row_program.hpp"

namespace sixbit::cuda::dit {

// ---- allocator -----------------------------------------------------------------------------------------------
// cudaFree synchronises the device, so freed buffers go to a free list keyed by their rounded size and are reused
// by the next request of that size (a DiT forward repeats the same shapes). One stream: a buffer returned while
// kernels that read it are still queued is only handed to later work on the same stream, which runs after them.
class Arena {
 public:
  explicit Arena(int device);
  ~Arena();
  std::shared_ptr<void> alloc(size_t bytes, MemCategory cat);
  MemoryReport report() const;
  void reset_peaks();
  void release_cached();  // cudaFree every cached block (after a failed cudaMalloc, or at the end)
  void add_weight_params(int64_t n) { weight_params_ += n; }
  void set_poison(cudaStream_t s) { poison_stream_ = s, poison_ = true; }

 private:
  struct State;
  std::shared_ptr<State> s_;
  int64_t weight_params_ = 0;
  bool poison_ = false;
  cudaStream_t poison_stream_ = nullptr;
};

using Buffer = std::shared_ptr<void>;
template <typename T>
T* ptr(const Buffer& b) { return static_cast<T*>(b.get()); }

// ---- device tensors ------------------------------------------------------------------------------------------
enum class DType : uint8_t { kF32, kBF16 };
inline size_t dtype_bytes(DType t) { return t == DType::kF32 ? 4 : 2; }
// The row-program source kind that reads a materialized buffer of this dtype.
inline RowSrc buffer_kind(DType t) { return t == DType::kF32 ? RowSrc::kF32 : RowSrc::kBF16; }

struct WeightEntry;

// A deferred GEMM (kFast): its operand is prepared when linear() is called, the launch waits until the result is
// read, so an element-wise op applied to it first (GELU) can run as the GEMM's cuBLASLt epilogue.
struct PendingGemm {
  Buffer a;                    // bf16 [M, K] operand (full precision or exactly dequantized NVFP4)
  const WeightEntry* w = nullptr;
  bool nvfp4 = false;          // W4A4 fast: W dequantized to bf16 at launch, alpha from alpha_dev
  Buffer alpha_dev;            // W4A4: fp32 Ga * Gw on the device
  int64_t M = 0, N = 0, K = 0;
  bool gelu = false;           // cuBLASLt GELU_BIAS epilogue
};

// What a pending tensor is computed from. kF32/kBF16: a buffer (this tensor's own, or another tensor's after a lazy
// clone); kI32Acc / kF32Acc: GEMM accumulators whose epilogue is still to apply (row_program.hpp).
struct Source {
  RowSrc kind = RowSrc::kF32;
  Buffer buf;                          // data (or accumulators)
  Buffer row_scale;                    // per-row activation scales (W8A8/W4A8)
  const float* col_scale = nullptr;    // per-channel weight scales (W8A8), owned by a WeightEntry
  const float* bias = nullptr;         // fp32 bias, owned by a WeightEntry
  float alpha = 1.0f;
  std::shared_ptr<PendingGemm> gemm;   // when set, run it first: the result becomes a kBF16 buffer
};

// The device tensor behind model::Mat::dev. kVerify tensors are always materialised fp32. kFast tensors may be
// pending: in-place ops append stages, and the work runs when a consumer reads the tensor (fused into that
// consumer's row program where it can). A buffer is written in place only while nothing else holds it
// (use_count() == 1); otherwise the write goes to a fresh buffer and the holders keep the old values (copy on write).
struct DevTensor {
  int64_t rows = 0, cols = 0;
  DType dtype = DType::kF32;  // storage type once materialised
  Buffer buf;                 // materialised values (null while pending)
  bool pending = false;
  Source src;
  std::vector<RowStage> stages;  // element-wise / row ops still to apply, in order
  RopeTable rope;                // for a kRope stage
  int rope_heads = 1;
  std::vector<Buffer> keep;      // device vectors the stages point into (modulation vectors), kept alive
  // Operand forms derived from the current value (kFast), dropped when the value changes.
  Buffer op_bf16, op_amax, op_i8, op_i8_scales, op_i8bf16, op_i8bf16_scales, op_fq, op_fq_ga;
  void drop_operands() { op_bf16 = op_amax = op_i8 = op_i8_scales = op_i8bf16 = op_i8bf16_scales = op_fq = op_fq_ga = nullptr; }
};
using TensorPtr = std::shared_ptr<DevTensor>;

// ---- weights -------------------------------------------------------------------------------------------------
struct WeightEntry {
  int64_t out = 0, in = 0;
  Buffer f32;                        // kVerify full precision, and small vectors
  Buffer bf16;                       // kFast full precision
  Buffer bias_f32, bias_bf16;        // this linear's bias (when the call passed one)
  Buffer nvfp4_packed, nvfp4_scales; // row-major scales
  float nvfp4_global_decode = 1.0f;  // G (host copy, read once at quantization)
  Buffer int8_codes, int8_scales;    // per output channel
};

// ---- kernel launchers (cuda/dit/*.cu) ------------------------------------------------------------------------
// kVerify: fp32, one rounding per operation in reference_ops.cpp's order (verify_kernels.cuh says per kernel).
void verify_linear(const float* x, const float* w, const float* bias, float* y, int64_t M, int64_t N, int64_t K, cudaStream_t s);
void verify_attention(const float* q, const float* k, const float* v, float* o, int64_t Sq, int64_t Sk, int heads, int d, float scale,
                      float* scratch, cudaStream_t s);
size_t verify_attention_scratch_floats(int64_t Sq, int64_t Sk, int heads);
void verify_layer_norm(float* x, int64_t rows, int64_t cols, const float* w, const float* b, float eps, cudaStream_t s);
void verify_rms_norm(float* x, int64_t rows, int64_t cols, const float* w, float eps, cudaStream_t s);
void verify_rope(float* x, int64_t rows, int64_t cols, int heads, const RopeTable& t, cudaStream_t s);
void verify_gelu(float* x, int64_t n, cudaStream_t s);
void verify_silu(float* x, int64_t n, cudaStream_t s);
void verify_add_modulation(const float* learned, const float* e, int64_t e_cols, float* m, int64_t n, cudaStream_t s);
void verify_modulate(float* x, int64_t rows, int64_t cols, const float* shift, const float* scale, cudaStream_t s);
void verify_gated_add(float* x, const float* y, const float* gate, int64_t rows, int64_t cols, cudaStream_t s);
void verify_sub(const float* a, const float* b, float* d, int64_t n, cudaStream_t s);
void verify_diff_norms(const float* a, const float* b, int64_t rows, int64_t cols, double* row_sums, double* out4, cudaStream_t s);

// kFast (row_kernels.cu, fast_kernels.cu).
void run_row_program(const RowProgram& p, cudaStream_t s);
void nvfp4_fakequant_bf16(const void* x_bf16, int64_t rows, int64_t cols, quant::Nvfp4Recipe recipe, const float* amax, void* out_bf16,
                          float* global_decode_out, cudaStream_t s);
void scalar_mul(const float* a, float b, float* out, cudaStream_t s);
void f32_to_bf16(const float* x, void* y, int64_t n, cudaStream_t s);
void sub_to_bf16(const void* a, DType ta, const void* b, DType tb, void* out, int64_t n, cudaStream_t s);
void fast_diff_norms(const void* a, DType ta, const void* b, DType tb, int64_t n, double* partials, double* out4, cudaStream_t s);
size_t fast_diff_norms_partials(int64_t n);
void gemv_bf16w(const float* x, const void* w_bf16, const float* bias, float* y, int64_t N, int64_t K, cudaStream_t s);
void add_modulation_f32(const float* learned, const float* e, int64_t e_cols, float* m, int64_t n, cudaStream_t s);
// Test hook: cuda/dit/glibc_mathf.hpp's expf and tanhf evaluated on the device.
void glibc_math_on_device(const float* x, float* expf_out, float* tanhf_out, int64_t n, cudaStream_t s);

// Attention, kFast: bf16 [S, heads*d] row-major in and out (row strides in elements).
void own_flash_attention(const void* q, const void* k, const void* v, void* o, int64_t Sq, int64_t Sk, int heads, int d, float scale,
                         cudaStream_t s);
bool own_flash_supported(int d);

}  // namespace sixbit::cuda::dit
