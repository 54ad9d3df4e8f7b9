// sixbit/cuda/dit/dit_impl.hpp: CudaDitOps::Impl, shared by dit_ops.cu (common), dit_ops_verify.cu and dit_ops_fast.cu.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "common/check.hpp"
#include "cuda/check.cuh"
#include "cuda/dit/dit_internal.hpp"
#include "cuda/dit/lt_gemm.hpp"
#include "cuda/dit/sdpa_cudnn.hpp"

namespace sixbit::cuda {

struct CudaDitOps::Impl {
  explicit Impl(const CudaDitOptions& o);
  ~Impl();

  CudaDitOptions opt;
  cudaStream_t stream = nullptr;
  dit::Arena arena;
  model::PrecisionPlan plan;
  std::map<model::LinearPrecision, int64_t> calls;

  // Weights by host address (immutable for the model's life), small vectors (biases, norm weights, modulation) too.
  std::map<const float*, dit::WeightEntry> weights;
  std::map<const float*, std::pair<int64_t, dit::Buffer>> vectors;
  // RoPE tables by (verify?, heads*d/heads, grid): double tables for kVerify, float for kFast.
  struct RopeEntry {
    dit::Buffer cos, sin;
    dit::RopeTable table;
  };
  std::map<std::tuple<bool, int, int, int, int>, RopeEntry> ropes;

  // kFast machinery.
  dit::Buffer lt_workspace, lt_zero;
  std::unique_ptr<dit::LtGemm> lt;
  dit::Buffer w_dequant;  // 16-bit scratch for one dequantized NVFP4 weight at a time (cuBLASLt's or the fused kernel's K order)
  size_t w_dequant_bytes = 0;
  std::unique_ptr<dit::CudnnSdpa> sdpa;
  std::map<dit::SdpaShape, bool> sdpa_ok;  // per shape: cuDNN plan built
  std::string attention_in_use = "none", sdpa_note;
  std::string w8a8_gemm_in_use = "none", w4a8_gemm_in_use = "none", w4a4_gemm_in_use = "none";
  // Whether a W8A8 (W4A8, kFast) linear of in_features K runs on an sm90 wgmma kernel (CudaDitOptions::sm90_gemm);
  // records which.
  bool w8a8_on_sm90(int64_t K);
  bool w4a8_on_sm90(int64_t K);
  bool w4a4_on_sm90(int64_t K);                    // kVerify only (kFast runs W4A4 through cuBLASLt)
  // The one scratch buffer for a weight dequantized per call (w_dequant, grown on demand): `bytes` of it; the register-A
  // wgmma kernels' W workspace (out x fast_sm90_padded_k(K) 16-bit values) in it.
  void* w_scratch(size_t bytes);
  void* sm90_w_scratch(int64_t out, int64_t K) { return w_scratch(size_t(out * fast_sm90_padded_k(K)) * 2); }
  int gelu_epilogue = -1;  // -1 unknown, 0 off, 1 on (cuBLASLt GELU is the tanh form: probed once)

  // Host-visible results (pinned) for diff_norms.
  double* host4 = nullptr;

  // Profiling (CudaDitOptions::profile): event pairs by category, summed in profile().
  enum ProfCat { kProfAttention, kProfGemm, kProfRow, kProfQuant, kProfOther };
  struct ProfRecord {
    int cat;
    cudaEvent_t a, b;
  };
  bool profiling = false;
  std::vector<ProfRecord> prof;
  std::vector<cudaEvent_t> prof_pool;
  cudaEvent_t prof_event();
  struct Prof {  // RAII: events around the launches in its scope (no-op when profiling is off)
    Impl* im;
    int cat;
    cudaEvent_t a = nullptr;
    Prof(Impl* i, int c);
    ~Prof();
  };
  void row(const dit::RowProgram& p) {
    Prof pr(this, kProfRow);
    dit::run_row_program(p, stream);
  }

  // ---- helpers (dit_ops.cu) ----
  static dit::TensorPtr tensor(const model::Mat& m, const char* what);
  static model::Mat wrap(dit::TensorPtr t);
  dit::TensorPtr new_tensor(int64_t rows, int64_t cols, dit::DType dt, MemCategory cat = MemCategory::kActivation);
  const float* vector(const float* host, int64_t n);   // fp32 device copy of a small host vector (cached)
  dit::Buffer vector_buf(const float* host, int64_t n);
  dit::WeightEntry& weight(const float* w, int64_t out, int64_t in);
  void weight_f32(dit::WeightEntry& e, const float* w);
  void weight_bf16(dit::WeightEntry& e, const float* w);
  void weight_nvfp4(dit::WeightEntry& e, const float* w);
  void weight_int8(dit::WeightEntry& e, const float* w);
  void weight_bias(dit::WeightEntry& e, const float* bias, bool bf16);
  const dit::RopeTable& rope_table(bool verify, int heads, int64_t cols, int gf, int gh, int gw);
  const float* mod_chunk(const model::Mat& mod, int chunk, int64_t cols);
  void upload(void* dst, const void* src, size_t bytes);

  // ---- kVerify (dit_ops_verify.cu) ----
  model::Mat v_linear(const model::Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id);
  model::Mat v_attention(const model::Mat& q, const model::Mat& k, const model::Mat& v, int heads);
  void v_layer_norm(model::Mat& x, const float* w, const float* b, float eps);
  void v_rms_norm(model::Mat& x, const float* w, float eps);
  void v_rope(model::Mat& x, int heads, int gf, int gh, int gw);
  void v_gelu(model::Mat& x);
  void v_silu(model::Mat& x);
  model::Mat v_add_modulation(const float* learned, const model::Mat& e, int64_t n);
  void v_modulate(model::Mat& x, const model::Mat& mod, int shift_chunk, int scale_chunk);
  void v_gated_add(model::Mat& x, const model::Mat& y, const model::Mat* mod, int gate_chunk);
  model::Mat v_sub(const model::Mat& a, const model::Mat& b);
  model::DiffNorms v_diff_norms(const model::Mat& a, const model::Mat& b);

  // ---- kFast (dit_ops_fast.cu) ----
  void materialize(dit::DevTensor& t);
  void run_gemm(dit::DevTensor& t);
  void describe_source(dit::DevTensor& t, dit::RowProgram& p);
  void append_stage(dit::DevTensor& t, const dit::RowStage& st);
  dit::Buffer operand_f32(dit::DevTensor& t);
  dit::Buffer operand_bf16(dit::DevTensor& t);
  void operand_fq(dit::DevTensor& t);
  void operand_i8(dit::DevTensor& t, bool as_bf16);
  bool gelu_epilogue_ok();
  model::Mat f_clone(const model::Mat& x);
  model::Mat f_to_host(const model::Mat& x);
  model::Mat f_linear(const model::Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id);
  model::Mat f_attention(const model::Mat& q, const model::Mat& k, const model::Mat& v, int heads);
  void f_stage(model::Mat& x, const dit::RowStage& st);
  void f_rope(model::Mat& x, int heads, int gf, int gh, int gw);
  model::Mat f_add_modulation(const float* learned, const model::Mat& e, int64_t n);
  void f_modulate(model::Mat& x, const model::Mat& mod, int shift_chunk, int scale_chunk);
  void f_gated_add(model::Mat& x, const model::Mat& y, const model::Mat* mod, int gate_chunk);
  model::Mat f_sub(const model::Mat& a, const model::Mat& b);
  model::DiffNorms f_diff_norms(const model::Mat& a, const model::Mat& b);
};

}  // namespace sixbit::cuda
