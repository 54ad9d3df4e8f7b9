// CudaDitOps, kFast: bf16 activations with an fp32 residual stream and fp32 modulation/time vectors (as Wan runs
// them under autocast(float32)), lazy element-wise ops fused into one row program per consumer, deferred GEMMs
// (so a GELU becomes the cuBLASLt epilogue), quantized linears: W8A8 = per-row int8 (fused into the producer's row
// program) x per-channel int8 weights on the Hopper wgmma kernel with the epilogue fused (gemm_w8a8_sm90, fp32 out),
// or elsewhere on cuBLASLt int8 with the epilogue fused into the consumer (the same bits either way); W4A4 = the activation
// fake-quantized to NVFP4 exactly as bf16 (te recipe, tensor amax from the producer) x the weight dequantized exactly
// to bf16, alpha = Ga * Gw on the device; W4A8 = per-row int8 codes x the weight dequantized exactly (per call, into a
// shared scratch), on Hopper the fused kernel (gemm_w4a8_fast_sm90: int8 -> bf16 in registers, (acc * sa) * Gw + bias
// in its epilogue, fp32 out), elsewhere the codes as bf16 through cuBLASLt with fp32 accumulators and that epilogue
// fused into the consumer. Weights stay resident only in their quantized formats.
// Lazy evaluation and operand forms: dit_ops_lazy.cu. Build: part of sixbit_cuda_dit. Tests: tests/gpu/gpu_dit_fast.cpp
// (bounds derived there). Design: docs/gpu-dit.md.
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
using dit::TensorPtr;
using model::Mat;

namespace {
bool is_block(const model::LayerId& id) { return id.block >= 0; }
}  // namespace

// ---- ops -------------------------------------------------------------------------------------------------------

Mat CudaDitOps::Impl::f_clone(const Mat& xm) {
  TensorPtr x = tensor(xm, "clone");
  if (x->pending && x->src.gemm) run_gemm(*x);  // never run one GEMM twice
  auto c = std::make_shared<DevTensor>();
  c->rows = x->rows, c->cols = x->cols, c->dtype = x->dtype, c->pending = true;
  if (x->pending) {
    c->src = x->src, c->stages = x->stages, c->rope = x->rope, c->rope_heads = x->rope_heads, c->keep = x->keep;
  } else {
    c->src.kind = buffer_kind(x->dtype), c->src.buf = x->buf;
  }
  return wrap(c);
}

Mat CudaDitOps::Impl::f_to_host(const Mat& xm) {
  TensorPtr x = tensor(xm, "to_host");
  Buffer f = operand_f32(*x);
  Mat h(x->rows, x->cols);
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(h.v.data(), f.get(), h.v.size() * sizeof(float), cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

Mat CudaDitOps::Impl::f_linear(const Mat& xm, const float* w, int64_t out, const float* bias, const model::LayerId& id) {
  TensorPtr x = tensor(xm, "linear");
  const int64_t M = x->rows, K = x->cols;
  const model::LinearPrecision prec = plan.of(id);
  dit::WeightEntry& e = weight(w, out, K);
  if (!is_block(id) && M == 1) {  // the time MLP: fp32 activations x bf16 weights -> fp32
    weight_bf16(e, w);
    Buffer xin = operand_f32(*x);
    TensorPtr y = new_tensor(1, out, DType::kF32);
    Prof pr(this, kProfOther);
    dit::gemv_bf16w(dit::ptr<float>(xin), e.bf16.get(), vector(bias, out), dit::ptr<float>(y->buf), out, K, stream);
    return wrap(y);
  }
  if (!is_block(id)) {  // embeddings and head: bf16 operands; patch embedding and head write fp32 (residual, velocity)
    weight_bf16(e, w);
    const bool f32_out = id.kind == model::LinearKind::patch_embedding || id.kind == model::LinearKind::head;
    weight_bias(e, bias, !f32_out);
    Buffer a = operand_bf16(*x);
    TensorPtr y = new_tensor(M, out, f32_out ? DType::kF32 : DType::kBF16);
    dit::LtArgs g;
    g.kind = f32_out ? dit::LtKind::kBf16ToF32 : dit::LtKind::kBf16ToBf16, g.M = M, g.N = out, g.K = K, g.x = a.get(), g.w = e.bf16.get();
    g.y = y->buf.get(), g.bias = bias ? (f32_out ? e.bias_f32.get() : e.bias_bf16.get()) : nullptr;
    Prof pr(this, kProfGemm);
    lt->run(g, stream);
    return wrap(y);
  }
  auto y = std::make_shared<DevTensor>();
  y->rows = M, y->cols = out, y->dtype = DType::kBF16, y->pending = true;
  if (prec != model::LinearPrecision::kFull)
    SIXBIT_CHECK(K % 16 == 0, id.name(), ": in_features ", K, " is not a multiple of 16; it cannot run in ", model::linear_precision_name(prec));
  switch (prec) {
    case model::LinearPrecision::kFull:
    case model::LinearPrecision::kW4A4: {
      auto g = std::make_shared<dit::PendingGemm>();
      g->M = M, g->N = out, g->K = K, g->w = &e;
      if (prec == model::LinearPrecision::kFull) {
        weight_bf16(e, w);
        g->a = operand_bf16(*x);
      } else {
        weight_nvfp4(e, w);
        operand_fq(*x);
        g->a = x->op_fq, g->nvfp4 = true;
        g->alpha_dev = arena.alloc(sizeof(float), MemCategory::kActivation);
        Prof pr(this, kProfQuant);
        dit::scalar_mul(dit::ptr<float>(x->op_fq_ga), e.nvfp4_global_decode, dit::ptr<float>(g->alpha_dev), stream);  // Ga * Gw
      }
      weight_bias(e, bias, true);  // no bias: the GEMM runs without the BIAS epilogue
      y->src.gemm = g;
      break;
    }
    case model::LinearPrecision::kW8A8: {
      weight_int8(e, w);
      weight_bias(e, bias, false);
      operand_i8(*x, false);
      if (w8a8_on_sm90(K)) {  // epilogue (and bias) applied in the GEMM: the consumer reads the fp32 result as is
        Buffer yf = arena.alloc(size_t(M * out) * sizeof(float), MemCategory::kActivation);
        Prof pr(this, kProfGemm);
        gemm_w8a8_sm90(dit::ptr<int8_t>(x->op_i8), dit::ptr<float>(x->op_i8_scales), dit::ptr<int8_t>(e.int8_codes), dit::ptr<float>(e.int8_scales),
                       dit::ptr<float>(e.bias_f32), dit::ptr<float>(yf), M, out, K, stream);
        y->src.kind = RowSrc::kF32, y->src.buf = yf;
        break;
      }
      Buffer acc = arena.alloc(size_t(M * out) * sizeof(int32_t), MemCategory::kActivation);
      dit::LtArgs g;
      g.kind = dit::LtKind::kI8ToI32, g.M = M, g.N = out, g.K = K, g.x = x->op_i8.get(), g.w = e.int8_codes.get(), g.y = acc.get();
      Prof pr(this, kProfGemm);
      lt->run(g, stream);
      y->src.kind = RowSrc::kI32Acc, y->src.buf = acc, y->src.row_scale = x->op_i8_scales;
      y->src.col_scale = dit::ptr<float>(e.int8_scales), y->src.bias = dit::ptr<float>(e.bias_f32);
      break;
    }
    case model::LinearPrecision::kW4A8:
    default: {
      weight_nvfp4(e, w);
      weight_bias(e, bias, false);
      if (w4a8_on_sm90(K)) {  // int8 codes straight into the fused kernel; (acc * sa) * Gw + bias in its epilogue, fp32 out
        operand_i8(*x, false);
        void* w_sm90 = sm90_w_scratch(out, K);  // W dequantized per call into the kernel's K order
        Buffer yf = arena.alloc(size_t(M * out) * sizeof(float), MemCategory::kActivation);
        Prof pr(this, kProfGemm);  // the weight's dequantization included
        gemm_w4a8_fast_sm90(dit::ptr<int8_t>(x->op_i8), dit::ptr<float>(x->op_i8_scales), dit::ptr<uint8_t>(e.nvfp4_packed),
                            dit::ptr<uint8_t>(e.nvfp4_scales), e.nvfp4_global_decode, dit::ptr<float>(e.bias_f32), dit::ptr<float>(yf), w_sm90, M, out, K,
                            stream);
        y->src.kind = RowSrc::kF32, y->src.buf = yf;
        break;
      }
      operand_i8(*x, true);
      void* w_bf16 = w_scratch(size_t(out * K) * 2);
      {
        Prof pq(this, kProfQuant);
        nvfp4_dequantize_bf16(dit::ptr<uint8_t>(e.nvfp4_packed), dit::ptr<uint8_t>(e.nvfp4_scales), out, K, w_bf16, stream);
      }
      Buffer acc = arena.alloc(size_t(M * out) * sizeof(float), MemCategory::kActivation);
      dit::LtArgs g;
      g.kind = dit::LtKind::kBf16ToF32, g.M = M, g.N = out, g.K = K, g.x = x->op_i8bf16.get(), g.w = w_bf16, g.y = acc.get();
      Prof pr(this, kProfGemm);
      lt->run(g, stream);
      // Codes and dequantized weights hold true values (not half units), so alpha is Gw itself.
      y->src.kind = RowSrc::kF32Acc, y->src.buf = acc, y->src.row_scale = x->op_i8bf16_scales, y->src.alpha = e.nvfp4_global_decode;
      y->src.bias = dit::ptr<float>(e.bias_f32);
      break;
    }
  }
  return wrap(y);
}

Mat CudaDitOps::Impl::f_attention(const Mat& qm, const Mat& km, const Mat& vm, int heads) {
  TensorPtr q = tensor(qm, "attention q"), k = tensor(km, "attention k"), v = tensor(vm, "attention v");
  SIXBIT_CHECK(heads > 0 && q->cols == k->cols && k->cols == v->cols && k->rows == v->rows && q->cols % heads == 0, "attention: shape mismatch q [",
               q->rows, ",", q->cols, "] k [", k->rows, ",", k->cols, "] v [", v->rows, ",", v->cols, "] heads ", heads);
  const int d = int(q->cols / heads);
  Buffer bq = operand_bf16(*q), bk = operand_bf16(*k), bv = operand_bf16(*v);
  TensorPtr o = new_tensor(q->rows, q->cols, DType::kBF16);
  const dit::SdpaShape shape{q->rows, k->rows, heads, d, 1.0f / std::sqrt(float(d))};
  bool use_cudnn = false;
  if (sdpa && opt.attention != AttentionBackend::kOwn) {
    auto it = sdpa_ok.find(shape);
    if (it == sdpa_ok.end()) {
      int64_t ws = 0;
      std::string why;
      const bool ok = sdpa->prepare(shape, &ws, &why);
      if (!ok) sdpa_note = why;
      it = sdpa_ok.emplace(shape, ok).first;
    }
    use_cudnn = it->second;
    SIXBIT_CHECK(use_cudnn || opt.attention != AttentionBackend::kCudnn, "attention: cuDNN SDPA unavailable: ", sdpa_note);
  }
  if (use_cudnn) {
    int64_t ws = 0;
    sdpa->prepare(shape, &ws, nullptr);
    Buffer work = ws > 0 ? arena.alloc(size_t(ws), MemCategory::kWorkspace) : nullptr;
    try {
      Prof pr(this, kProfAttention);
      sdpa->run(shape, bq.get(), bk.get(), bv.get(), o->buf.get(), work.get(), stream);
      attention_in_use = "cudnn-" + sdpa->variant(shape);
    } catch (const Error& e) {  // a plan that built but does not execute: kAuto falls back to our kernel for this shape
      if (opt.attention == AttentionBackend::kCudnn) throw;
      sdpa_ok[shape] = false, sdpa_note = e.what(), use_cudnn = false;
    }
  }
  if (!use_cudnn) {
    SIXBIT_CHECK(dit::own_flash_supported(d), "attention: head_dim ", d, " is not supported by the own flash kernel (32, 64, 128)",
                 sdpa_note.empty() ? "" : "; cuDNN: ", sdpa_note);
    Prof pr(this, kProfAttention);
    dit::own_flash_attention(bq.get(), bk.get(), bv.get(), o->buf.get(), q->rows, k->rows, heads, d, shape.scale, stream);
    attention_in_use = "own-flash";
  }
  return wrap(o);
}

void CudaDitOps::Impl::f_stage(Mat& xm, const RowStage& st) { append_stage(*tensor(xm, "element-wise op"), st); }

void CudaDitOps::Impl::f_rope(Mat& xm, int heads, int gf, int gh, int gw) {
  TensorPtr x = tensor(xm, "rope");
  SIXBIT_CHECK(x->rows == int64_t(gf) * gh * gw && heads > 0 && x->cols % heads == 0, "rope: shape mismatch");
  SIXBIT_CHECK((x->cols / heads) % 4 == 0, "rope (fast): head_dim ", x->cols / heads, " must be a multiple of 4");
  const dit::RopeTable& t = rope_table(false, heads, x->cols, gf, gh, gw);
  append_stage(*x, RowStage{RowStageKind::kRope});
  x->rope = t, x->rope_heads = heads;
}

Mat CudaDitOps::Impl::f_add_modulation(const float* learned, const Mat& em, int64_t n) {
  TensorPtr e = tensor(em, "add_modulation");
  SIXBIT_CHECK(e->rows == 1 && e->cols > 0 && n % e->cols == 0, "add_modulation: e is [", e->rows, ",", e->cols, "], cannot broadcast to ", n);
  Buffer ef = operand_f32(*e);
  TensorPtr m = new_tensor(1, n, DType::kF32);
  Prof pr(this, kProfOther);
  dit::add_modulation_f32(vector(learned, n), dit::ptr<float>(ef), e->cols, dit::ptr<float>(m->buf), n, stream);
  return wrap(m);
}

void CudaDitOps::Impl::f_modulate(Mat& xm, const Mat& mod, int shift_chunk, int scale_chunk) {
  TensorPtr x = tensor(xm, "modulate");
  RowStage st{RowStageKind::kModulate};
  st.shift = mod_chunk(mod, shift_chunk, x->cols), st.scale = mod_chunk(mod, scale_chunk, x->cols);
  append_stage(*x, st);
  x->keep.push_back(tensor(mod, "modulate")->buf);
}

void CudaDitOps::Impl::f_gated_add(Mat& xm, const Mat& ym, const Mat* mod, int gate_chunk) {
  TensorPtr x = tensor(xm, "gated_add x"), y = tensor(ym, "gated_add y");
  SIXBIT_CHECK(x->rows == y->rows && x->cols == y->cols, "gated_add: shape mismatch");
  const float* gate = mod ? mod_chunk(*mod, gate_chunk, x->cols) : nullptr;
  Buffer res;
  const size_t bytes = size_t(x->rows * x->cols) * dit::dtype_bytes(x->dtype);
  if (x->pending && x->stages.empty() && !x->src.gemm && x->src.kind == buffer_kind(x->dtype)) {
    res = x->src.buf;  // x is a lazy copy (dit_block's `x = clone(x_in)`): the copy and the add are one pass
    x->pending = false, x->src = dit::Source{}, x->keep.clear();
    x->buf = res.use_count() == 1 ? res : arena.alloc(bytes, MemCategory::kActivation);
  } else {
    materialize(*x);
    res = x->buf;
    if (x->buf.use_count() > 2) x->buf = arena.alloc(bytes, MemCategory::kActivation);  // others hold it: copy on write
  }
  RowProgram p;
  describe_source(*y, p);  // y's pending epilogue and stages run inside this residual update
  p.out = x->dtype == DType::kF32 ? RowOut::kAddF32 : RowOut::kAddBF16, p.out_ptr = x->buf.get(), p.res_ptr = res.get(), p.gate = gate;
  row(p);
  x->drop_operands();
}

Mat CudaDitOps::Impl::f_sub(const Mat& am, const Mat& bm) {
  TensorPtr a = tensor(am, "sub a"), b = tensor(bm, "sub b");
  SIXBIT_CHECK(a->rows == b->rows && a->cols == b->cols, "sub: shape mismatch [", a->rows, ",", a->cols, "] vs [", b->rows, ",", b->cols, "]");
  materialize(*a), materialize(*b);
  TensorPtr d = new_tensor(a->rows, a->cols, DType::kBF16, MemCategory::kResidualCache);  // the TDC residual cache is bf16
  Prof pr(this, kProfOther);
  dit::sub_to_bf16(a->buf.get(), a->dtype, b->buf.get(), b->dtype, d->buf.get(), a->rows * a->cols, stream);
  return wrap(d);
}

model::DiffNorms CudaDitOps::Impl::f_diff_norms(const Mat& am, const Mat& bm) {
  TensorPtr a = tensor(am, "diff_norms a"), b = tensor(bm, "diff_norms b");
  SIXBIT_CHECK(a->rows == b->rows && a->cols == b->cols, "diff_norms: shape mismatch [", a->rows, ",", a->cols, "] vs [", b->rows, ",", b->cols, "]");
  materialize(*a), materialize(*b);
  const int64_t n = a->rows * a->cols;
  Buffer partials = arena.alloc(std::max<size_t>(dit::fast_diff_norms_partials(n), 4) * sizeof(double), MemCategory::kWorkspace);
  Buffer out = arena.alloc(4 * sizeof(double), MemCategory::kWorkspace);
  {
    Prof pr(this, kProfOther);
    dit::fast_diff_norms(a->buf.get(), a->dtype, b->buf.get(), b->dtype, n, dit::ptr<double>(partials), dit::ptr<double>(out), stream);
  }
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(host4, out.get(), 4 * sizeof(double), cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return model::DiffNorms{host4[0], host4[1], host4[2], host4[3]};
}

}  // namespace sixbit::cuda
