// CudaDitOps, kFast: the lazy evaluation behind dit_ops_fast.cu. A tensor records in-place ops as stages on a
// source (its own buffer, another tensor's buffer after a lazy clone, GEMM accumulators, or a deferred GEMM); the
// stages run in one row program when a consumer reads the tensor: materialize() (in place only when nothing else
// holds the buffer), or an operand form a GEMM needs (bf16 + tensor amax, NVFP4 fake-quantized bf16, int8 per row,
// int8 as bf16), each cached on the tensor until its value changes. Build: part of sixbit_cuda_dit.
// Tests: tests/gpu/gpu_dit_fast.cpp. Design: docs/gpu-dit.md.
#include <cuda_bf16.h>

#include <cmath>

#include "cuda/backend.hpp"
#include "cuda/dit/dit_impl.hpp"

namespace sixbit::cuda {

using dit::Buffer;
using dit::buffer_kind;
using dit::DevTensor;
using dit::DType;
using dit::RowOut;
using dit::RowProgram;
using dit::RowSrc;
using dit::RowStage;
using dit::RowStageKind;


// ---- lazy evaluation -------------------------------------------------------------------------------------------

void CudaDitOps::Impl::run_gemm(DevTensor& t) {
  std::shared_ptr<dit::PendingGemm> g = t.src.gemm;
  Buffer out = arena.alloc(size_t(g->M * g->N) * 2, MemCategory::kActivation);
  dit::LtArgs a;
  a.kind = dit::LtKind::kBf16ToBf16, a.M = g->M, a.N = g->N, a.K = g->K, a.x = g->a.get(), a.y = out.get();
  a.bias = g->w->bias_bf16.get(), a.gelu = g->gelu;
  if (g->nvfp4) {
    void* w_bf16 = w_scratch(size_t(g->N * g->K) * 2);
    Prof pq(this, kProfQuant);
    nvfp4_dequantize_bf16(dit::ptr<uint8_t>(g->w->nvfp4_packed), dit::ptr<uint8_t>(g->w->nvfp4_scales), g->N, g->K, w_bf16, stream);
    a.w = w_bf16, a.alpha_dev = dit::ptr<float>(g->alpha_dev);
  } else {
    a.w = g->w->bf16.get();
  }
  {
    Prof pr(this, kProfGemm);
    lt->run(a, stream);
  }
  t.src = dit::Source{};
  t.src.kind = RowSrc::kBF16, t.src.buf = out;
}

void CudaDitOps::Impl::describe_source(DevTensor& t, RowProgram& p) {
  p.rows = t.rows, p.cols = t.cols;
  if (!t.pending) {
    p.src = buffer_kind(t.dtype), p.src_ptr = t.buf.get();
    return;
  }
  if (t.src.gemm) run_gemm(t);
  p.src = t.src.kind, p.src_ptr = t.src.buf.get(), p.row_scale = dit::ptr<float>(t.src.row_scale);
  p.col_scale = t.src.col_scale, p.bias = t.src.bias, p.alpha = t.src.alpha;
  p.n_stages = int(t.stages.size());
  for (size_t i = 0; i < t.stages.size(); ++i) p.stages[i] = t.stages[i];
  p.rope = t.rope, p.heads = t.rope_heads;
}

void CudaDitOps::Impl::materialize(DevTensor& t) {
  if (!t.pending) return;
  if (t.src.gemm && t.stages.empty() && t.dtype == DType::kBF16) {  // the GEMM's bf16 output is the value
    run_gemm(t);
    t.buf = t.src.buf;
  } else {
    RowProgram p;
    describe_source(t, p);
    // In place only when this tensor is the sole holder of its own source buffer (copy on write otherwise).
    const bool own = buffer_kind(t.dtype) == t.src.kind && t.src.buf && t.src.buf.use_count() == 1;
    Buffer out = own ? t.src.buf : arena.alloc(size_t(t.rows * t.cols) * dit::dtype_bytes(t.dtype), MemCategory::kActivation);
    p.out = t.dtype == DType::kF32 ? RowOut::kF32 : RowOut::kBF16, p.out_ptr = out.get();
    row(p);
    t.buf = out;
  }
  t.pending = false, t.src = dit::Source{}, t.stages.clear(), t.keep.clear();
}

void CudaDitOps::Impl::append_stage(DevTensor& t, const RowStage& st) {
  t.drop_operands();
  if (st.kind == RowStageKind::kGelu && t.pending && t.src.gemm && !t.src.gemm->gelu && t.stages.empty() && gelu_epilogue_ok()) {
    t.src.gemm->gelu = true;  // cuBLASLt GELU_BIAS epilogue (probed to be the tanh form)
    return;
  }
  if (t.pending && (int(t.stages.size()) == dit::kMaxStages || (st.kind == RowStageKind::kRope && !t.stages.empty() &&
                                                               t.stages.back().kind == RowStageKind::kRope)))
    materialize(t);
  if (!t.pending) {  // start a pending chain on this tensor's own values
    t.pending = true;
    t.src = dit::Source{};
    t.src.kind = buffer_kind(t.dtype), t.src.buf = std::move(t.buf);
  }
  t.stages.push_back(st);
}

// The GEMM operands. Each is derived once from the tensor's current value and cached on it.
Buffer CudaDitOps::Impl::operand_bf16(DevTensor& t) {
  if (t.pending && t.src.gemm && t.stages.empty() && t.dtype == DType::kBF16) materialize(t);  // the GEMM output itself
  if (!t.pending && t.dtype == DType::kBF16) return t.buf;
  if (t.op_bf16) return t.op_bf16;
  RowProgram p;
  describe_source(t, p);
  t.op_bf16 = arena.alloc(size_t(t.rows * t.cols) * 2, MemCategory::kActivation);
  t.op_amax = arena.alloc(sizeof(float), MemCategory::kActivation);
  SIXBIT_CUDA_CHECK(cudaMemsetAsync(t.op_amax.get(), 0, sizeof(float), stream));
  p.out = RowOut::kBF16, p.out_ptr = t.op_bf16.get(), p.amax_bits = dit::ptr<unsigned int>(t.op_amax);
  row(p);
  return t.op_bf16;
}

Buffer CudaDitOps::Impl::operand_f32(DevTensor& t) {
  if (!t.pending && t.dtype == DType::kF32) return t.buf;
  RowProgram p;
  describe_source(t, p);
  Buffer out = arena.alloc(size_t(t.rows * t.cols) * 4, MemCategory::kActivation);
  p.out = RowOut::kF32, p.out_ptr = out.get();
  row(p);
  return out;
}

void CudaDitOps::Impl::operand_fq(DevTensor& t) {
  if (t.op_fq) return;
  Buffer a = operand_bf16(t);
  if (!t.op_amax) {  // a materialised bf16 tensor: its amax was not a side output of a row program
    t.op_amax = arena.alloc(sizeof(float), MemCategory::kActivation);
    Prof pr(this, kProfQuant);
    tensor_amax_bf16(dit::ptr<__nv_bfloat16>(a), t.rows * t.cols, dit::ptr<float>(t.op_amax), nullptr, stream);
  }
  Prof pr(this, kProfQuant);
  t.op_fq = arena.alloc(size_t(t.rows * t.cols) * 2, MemCategory::kActivation);
  t.op_fq_ga = arena.alloc(sizeof(float), MemCategory::kActivation);
  dit::nvfp4_fakequant_bf16(a.get(), t.rows, t.cols, opt.recipe, dit::ptr<float>(t.op_amax), t.op_fq.get(), dit::ptr<float>(t.op_fq_ga), stream);
}

void CudaDitOps::Impl::operand_i8(DevTensor& t, bool as_bf16) {
  Buffer& codes = as_bf16 ? t.op_i8bf16 : t.op_i8;
  Buffer& scales = as_bf16 ? t.op_i8bf16_scales : t.op_i8_scales;
  if (codes) return;
  RowProgram p;
  describe_source(t, p);
  codes = arena.alloc(size_t(t.rows * t.cols) * (as_bf16 ? 2 : 1), MemCategory::kActivation);
  scales = arena.alloc(size_t(t.rows) * sizeof(float), MemCategory::kActivation);
  p.out = as_bf16 ? RowOut::kInt8AsBF16 : RowOut::kInt8, p.out_ptr = codes.get(), p.out_row_scale = dit::ptr<float>(scales);
  row(p);
}

// cuBLASLt documents GELU without saying which form; run one GEMM through GELU_BIAS on inputs where the tanh form and
// the erf form differ by more than bf16 resolves (x = -3: -0.003638 vs -0.004050) and fuse only if it is tanh.
bool CudaDitOps::Impl::gelu_epilogue_ok() {
  if (gelu_epilogue >= 0) return gelu_epilogue == 1;
  constexpr int n = 16;
  std::vector<__nv_bfloat16> x(n * n), w(n * n), bias(n);
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = -3.0f + 0.375f * float(i);  // exact in bf16
  for (int i = 0; i < n * n; ++i) x[i] = __float2bfloat16(i / n == i % n ? 1.0f : 0.0f), w[i] = __float2bfloat16(i / n == i % n ? v[i / n] : 0.0f);
  for (int i = 0; i < n; ++i) bias[i] = __float2bfloat16(0.0f);
  Buffer bx = arena.alloc(x.size() * 2, MemCategory::kWorkspace), bw = arena.alloc(w.size() * 2, MemCategory::kWorkspace);
  Buffer bb = arena.alloc(bias.size() * 2, MemCategory::kWorkspace), by = arena.alloc(size_t(n * n) * 2, MemCategory::kWorkspace);
  upload(bx.get(), x.data(), x.size() * 2), upload(bw.get(), w.data(), w.size() * 2), upload(bb.get(), bias.data(), bias.size() * 2);
  dit::LtArgs a;
  a.kind = dit::LtKind::kBf16ToBf16, a.M = n, a.N = n, a.K = n, a.x = bx.get(), a.w = bw.get(), a.y = by.get(), a.bias = bb.get(), a.gelu = true;
  lt->run(a, stream);
  std::vector<__nv_bfloat16> y(size_t(n * n));
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(y.data(), by.get(), y.size() * 2, cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  bool tanh_form = true;
  for (int i = 0; i < n; ++i) {
    const double a0 = v[i], t = 0.5 * a0 * (1.0 + std::tanh(0.7978845608028654 * (a0 + 0.044715 * a0 * a0 * a0)));
    const double got = __bfloat162float(y[size_t(i * n + i)]);
    if (std::fabs(got - t) > 2.0 * std::ldexp(std::fabs(t), -8) + 1e-6) tanh_form = false;  // 2 bf16 ulps
  }
  gelu_epilogue = tanh_form ? 1 : 0;
  return tanh_form;
}

}  // namespace sixbit::cuda
