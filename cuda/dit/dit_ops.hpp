// sixbit/cuda/dit/dit_ops.hpp: the Wan2.1 DiT's ops (reference/model/ops.hpp) on a CUDA device.
//
// Two modes (docs/gpu-dit.md has the design, the bounds and the measured figures):
//  - kVerify: fp32 activations; every op mirrors reference/model/reference_ops.cpp operation by operation (one thread
//    per reduction, same order, fp64 statistics, glibc's expf/tanhf transcribed in cuda/dit/glibc_mathf.hpp, RoPE
//    angles from the host's libm), quantized linears through the exact kernels of cuda/backend.hpp. Every op, and so a
//    whole sampling run, gives the bits of EmulatorOps with the same plan (tests/gpu/gpu_dit_{verify,fast}.cpp checks it).
//  - kFast: bf16 activations (the residual stream and modulation vectors stay fp32), cuBLASLt bf16 GEMMs, W8A8 through
//    cuBLASLt int8, W4A4/W4A8 through exactly dequantized bf16 operands, attention through cuDNN's fused SDPA or our
//    own flash kernel, LayerNorm/RMSNorm/RoPE/modulation/GELU/gated residual and activation quantization fused into
//    one row kernel per consumer (ops are recorded lazily on the tensor and run when something reads it).
// Weights are uploaded once per host address (the interface promises they are immutable) and quantized once per
// format. No managed memory; every CUDA call is checked; without a usable GPU the constructor throws sixbit::Error.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "emulation/quant/nvfp4_recipe.hpp"
#include "reference/model/ops.hpp"

namespace sixbit::cuda {

enum class DitMode : uint8_t { kVerify, kFast };
enum class AttentionBackend : uint8_t { kAuto, kCudnn, kOwn };  // kFast only; kAuto = cuDNN when it builds a plan

struct CudaDitOptions {
  DitMode mode = DitMode::kVerify;
  quant::Nvfp4Recipe recipe = quant::Nvfp4Recipe::kTe;
  AttentionBackend attention = AttentionBackend::kAuto;
  int device = 0;
  bool poison = false;  // fill every buffer with 0xFF (NaN) when it is handed out (tests: unwritten outputs show)
  bool profile = false; // kFast: CUDA events around every launch group, summed by category (CudaDitOps::profile)
  // W8A8 linears on the Hopper wgmma kernel with the exact epilogue fused (cuda/gemm_sm90.cuh; bit-identical to the
  // cuBLASLt path) where sm90_gemm_supported(); false, or any other GPU: cuBLASLt int8 -> int32 + the epilogue pass.
  // kFast also runs its W4A8 linears on the fused fast Hopper kernel (gemm_w4a8_fast_sm90: int8 codes in, epilogue
  // and bias fused, fp32 out) instead of int8-as-bf16 through cuBLASLt; same numerics up to the summation order.
  // kVerify runs W4A8 and W4A4 (K % 32 == 0) on the block-exact wgmma kernels (gemm_w4a{8,4}_exact_sm90) instead of
  // the tiled IMMA ones: the same bits, about 3x faster.
  bool sm90_gemm = true;
};

// Device time by category since the last profile() call (kFast with CudaDitOptions::profile), from CUDA events
// around each group of launches: attention; cuBLASLt GEMMs; fused row programs (norms, RoPE, modulation, GELU,
// epilogues, residual adds, bf16/int8 operand production); NVFP4 fake-quantization and weight dequantization;
// the rest (residual cache, diff norms, GEMV, modulation vectors).
struct OpProfile {
  double attention_ms = 0, gemm_ms = 0, row_ms = 0, quant_ms = 0, other_ms = 0;
  int64_t groups = 0;
  double total_ms() const { return attention_ms + gemm_ms + row_ms + quant_ms + other_ms; }
};

// Device memory, measured: the allocator's own accounting by category (current and peak bytes of live buffers) and
// cudaMemGetInfo (what the whole process holds on the device). Weight categories hold the resident weight formats.
enum class MemCategory : int {
  kWeightBf16, kWeightF32, kNvfp4Codes, kNvfp4Scales, kInt8Codes, kInt8Scales,
  kActivation, kResidualCache, kWorkspace, kCount
};
std::string_view mem_category_name(MemCategory c);

struct MemoryReport {
  std::array<int64_t, int(MemCategory::kCount)> live{}, peak{};  // bytes asked for, per category
  int64_t live_total = 0, peak_live_total = 0;                   // all categories
  int64_t reserved = 0, peak_reserved = 0;                       // cudaMalloc'd by the allocator (live + cached)
  int64_t device_used_at_start = 0;                              // cudaMemGetInfo used before this object
  int64_t device_used_now = 0, device_used_peak = 0;             // sampled after every cudaMalloc and at report()
  int64_t device_total = 0;
  int64_t weight_params = 0;                                     // elements of every weight tensor uploaded
  int64_t weight_bytes() const;                                  // all weight categories
  double weight_reduction_vs_bf16() const { return weight_bytes() > 0 ? 2.0 * double(weight_params) / double(weight_bytes()) : 0.0; }
  std::string table() const;  // a printable summary
};

class CudaDitOps : public model::DitOps {
 public:
  explicit CudaDitOps(const CudaDitOptions& options = {});
  ~CudaDitOps() override;
  CudaDitOps(const CudaDitOps&) = delete;
  CudaDitOps& operator=(const CudaDitOps&) = delete;

  void set_plan(const model::PrecisionPlan& plan) override;
  const model::PrecisionPlan& plan() const;
  model::Mat from_host(model::Mat host) override;
  model::Mat to_host(const model::Mat& x) override;
  model::Mat clone(const model::Mat& x) override;

  model::Mat linear(const model::Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id) override;
  model::Mat attention(const model::Mat& q, const model::Mat& k, const model::Mat& v, int heads) override;
  void layer_norm(model::Mat& x, const float* weight, const float* bias, float eps) override;
  void rms_norm(model::Mat& x, const float* weight, float eps) override;
  void rope(model::Mat& x, int heads, int grid_f, int grid_h, int grid_w) override;
  void gelu_tanh(model::Mat& x) override;
  void silu(model::Mat& x) override;
  model::Mat add_modulation(const float* learned, const model::Mat& e, int64_t n) override;
  void modulate(model::Mat& x, const model::Mat& mod, int shift_chunk, int scale_chunk) override;
  void gated_add(model::Mat& x, const model::Mat& y, const model::Mat* mod, int gate_chunk) override;
  model::Mat sub(const model::Mat& a, const model::Mat& b) override;
  // kVerify: per row in index order in fp64, then the row sums in row order (ReferenceOps' order: same bits).
  // kFast: fp64 per element; 1024 fixed contiguous ranges, each summed by 256 threads in index order and a fixed
  // tree, then the 1024 partials by the same tree: deterministic run to run, not the reference's order. One host
  // synchronisation per call (the result is returned).
  model::DiffNorms diff_norms(const model::Mat& a, const model::Mat& b) override;

  const CudaDitOptions& options() const;
  std::string attention_backend_in_use() const;  // "exact", "cudnn", "own-flash" (after the first attention call)
  std::string w8a8_gemm_in_use() const;          // "sm90-wgmma", "cublaslt-int8" (after the first W8A8 linear), else "none"
  std::string w4a8_gemm_in_use() const;          // kFast: "sm90-wgmma-fused", "cublaslt-bf16"; kVerify: "sm90-wgmma-exact", "tiled-exact"
                                                 // (after the first W4A8 linear), else "none"
  // "attention <...>, W8A8 GEMM <...>, W4A8 GEMM <...>": the three above, then ", W4A4 GEMM sm90-wgmma-exact" (or
  // tiled-exact) once kVerify has run a W4A4 linear
  std::string kernels_in_use() const override;
  MemoryReport memory() const;
  OpProfile profile();  // synchronises; zeros when profiling is off
  void set_profiling(bool on);
  void reset_peaks();                            // peaks := current (e.g. after the weights are resident)
  void synchronize() const;                      // waits for the stream (for timing)
  void* stream() const;                          // the cudaStream_t every op runs on
  // How many linear calls ran in each precision since construction.
  const std::map<model::LinearPrecision, int64_t>& calls() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The factory the harness's backend registry calls ("cuda" = kFast, "cuda-verify" = kVerify).
std::unique_ptr<model::DitOps> make_cuda_dit_ops(const CudaDitOptions& options);

}  // namespace sixbit::cuda
