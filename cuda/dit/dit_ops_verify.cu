// CudaDitOps, kVerify: fp32 tensors, eager ops. Full-precision ops are the transcriptions of verify_kernels.cuh;
// quantized linears quantize the activation with the exact device quantizers (bits of emulation/quant) and run the
// exact GEMMs (bits of emulation/gemm/qgemm.hpp): on Hopper (unless CudaDitOptions::sm90_gemm is off) the wgmma
// kernels, W8A8 with the exact epilogue fused and W4A4 / W4A8 block-exact (cuda/gemm_sm90_exact.cuh); elsewhere
// cuBLASLt int32 + the exact epilogue and the tiled IMMA exact kernels. So every op returns EmulatorOps' bits. The global scales the exact W4A4/W4A8 kernels take
// as host values are read back (one synchronisation per quantized linear; this mode is for verification).
// Build: part of sixbit_cuda_dit. Tests: tests/gpu/gpu_dit_{verify,fast}.cpp.
#include <cmath>
#include <cstring>

#include "cuda/backend.hpp"
#include "cuda/dit/dit_impl.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::cuda {

using dit::Buffer;
using dit::DType;
using dit::TensorPtr;
using model::Mat;

namespace {
float* f32(const TensorPtr& t) { return dit::ptr<float>(t->buf); }
}  // namespace

Mat CudaDitOps::Impl::v_linear(const Mat& xm, const float* w, int64_t out, const float* bias, const model::LayerId& id) {
  TensorPtr x = tensor(xm, "linear");
  const int64_t M = x->rows, K = x->cols;
  const model::LinearPrecision p = plan.of(id);
  dit::WeightEntry& e = weight(w, out, K);
  TensorPtr y = new_tensor(M, out, DType::kF32);
  const float* b = vector(bias, out);
  if (p == model::LinearPrecision::kFull) {
    weight_f32(e, w);
    dit::verify_linear(f32(x), dit::ptr<float>(e.f32), b, f32(y), M, out, K, stream);
    return wrap(y);
  }
  SIXBIT_CHECK(K % 16 == 0, id.name(), ": in_features ", K, " is not a multiple of 16; it cannot run in ", model::linear_precision_name(p));
  // The activation's amax and NaN count: the emulator refuses NaN (and Inf for INT8) with an error; so does this.
  Buffer stats = arena.alloc(sizeof(float) + sizeof(unsigned), MemCategory::kWorkspace);
  float* amax = dit::ptr<float>(stats);
  tensor_amax(f32(x), M * K, amax, reinterpret_cast<unsigned*>(amax + 1), stream);
  float host[2];
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(host, amax, sizeof host, cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  unsigned nans;
  std::memcpy(&nans, &host[1], sizeof nans);
  const bool int8_act = p == model::LinearPrecision::kW8A8 || p == model::LinearPrecision::kW4A8;
  if (int8_act) {
    SIXBIT_CHECK(nans == 0 && std::isfinite(host[0]), id.name(), ": INT8 quantization needs finite input; found NaN or Inf");
  } else {
    SIXBIT_CHECK(nans == 0, id.name(), ": input has ", nans, " NaN value(s); NVFP4 quantization needs finite or Inf input");
  }
  if (int8_act) {
    Buffer codes = arena.alloc(size_t(M * K), MemCategory::kActivation), scales = arena.alloc(size_t(M) * sizeof(float), MemCategory::kActivation);
    int8_quantize_rows(f32(x), M, K, dit::ptr<int8_t>(codes), dit::ptr<float>(scales), stream);
    if (p == model::LinearPrecision::kW8A8) {
      weight_int8(e, w);
      if (w8a8_on_sm90(K)) {
        gemm_w8a8_sm90(dit::ptr<int8_t>(codes), dit::ptr<float>(scales), dit::ptr<int8_t>(e.int8_codes), dit::ptr<float>(e.int8_scales), b, f32(y),
                       M, out, K, stream);
      } else {
        Buffer acc = arena.alloc(size_t(M * out) * sizeof(int32_t), MemCategory::kWorkspace);
        gemm_w8a8_cublaslt(dit::ptr<int8_t>(codes), dit::ptr<float>(scales), dit::ptr<int8_t>(e.int8_codes), dit::ptr<float>(e.int8_scales), b,
                           f32(y), dit::ptr<int32_t>(acc), M, out, K, stream);
      }
    } else {
      weight_nvfp4(e, w);
      if (w4a8_on_sm90(K)) {  // the block-exact wgmma kernel; W put in its order and units per call (workspace)
        gemm_w4a8_exact_sm90(dit::ptr<int8_t>(codes), dit::ptr<float>(scales), dit::ptr<uint8_t>(e.nvfp4_packed), dit::ptr<uint8_t>(e.nvfp4_scales),
                             e.nvfp4_global_decode, b, f32(y), sm90_w_scratch(out, K), M, out, K, stream);
      } else {
        gemm_w4a8_exact(dit::ptr<int8_t>(codes), dit::ptr<float>(scales), dit::ptr<uint8_t>(e.nvfp4_packed), dit::ptr<uint8_t>(e.nvfp4_scales),
                        e.nvfp4_global_decode, b, f32(y), M, out, K, stream);
      }
    }
  } else {
    weight_nvfp4(e, w);
    Buffer packed = arena.alloc(size_t(M * K / 2), MemCategory::kActivation), scales = arena.alloc(size_t(M * K / 16), MemCategory::kActivation);
    nvfp4_quantize(f32(x), M, K, opt.recipe, amax, dit::ptr<uint8_t>(packed), dit::ptr<uint8_t>(scales), quant::ScaleLayout::kRowMajor, stream);
    const float ga = quant::nvfp4_global_scales(opt.recipe, host[0]).decode;
    if (w4a4_on_sm90(K)) {  // the block-exact wgmma kernel (K % 32 == 0)
      gemm_w4a4_exact_sm90(dit::ptr<uint8_t>(packed), dit::ptr<uint8_t>(scales), ga, dit::ptr<uint8_t>(e.nvfp4_packed),
                           dit::ptr<uint8_t>(e.nvfp4_scales), e.nvfp4_global_decode, b, f32(y), sm90_w_scratch(out, K), M, out, K, stream);
    } else {
      gemm_w4a4_exact(dit::ptr<uint8_t>(packed), dit::ptr<uint8_t>(scales), ga, dit::ptr<uint8_t>(e.nvfp4_packed), dit::ptr<uint8_t>(e.nvfp4_scales),
                      e.nvfp4_global_decode, b, f32(y), M, out, K, stream);
    }
  }
  return wrap(y);
}

Mat CudaDitOps::Impl::v_attention(const Mat& qm, const Mat& km, const Mat& vm, int heads) {
  TensorPtr q = tensor(qm, "attention q"), k = tensor(km, "attention k"), v = tensor(vm, "attention v");
  SIXBIT_CHECK(heads > 0 && q->cols == k->cols && k->cols == v->cols && k->rows == v->rows && q->cols % heads == 0, "attention: shape mismatch q [",
               q->rows, ",", q->cols, "] k [", k->rows, ",", k->cols, "] v [", v->rows, ",", v->cols, "] heads ", heads);
  const int d = int(q->cols / heads);
  const float scale = 1.0f / std::sqrt(float(d));  // ReferenceOps' expression, on the host
  TensorPtr o = new_tensor(q->rows, q->cols, DType::kF32);
  dit::verify_attention(f32(q), f32(k), f32(v), f32(o), q->rows, k->rows, heads, d, scale, nullptr, stream);
  attention_in_use = "exact";
  return wrap(o);
}

void CudaDitOps::Impl::v_layer_norm(Mat& xm, const float* w, const float* b, float eps) {
  TensorPtr x = tensor(xm, "layer_norm");
  dit::verify_layer_norm(f32(x), x->rows, x->cols, vector(w, x->cols), vector(b, x->cols), eps, stream);
}

void CudaDitOps::Impl::v_rms_norm(Mat& xm, const float* w, float eps) {
  TensorPtr x = tensor(xm, "rms_norm");
  SIXBIT_CHECK(w != nullptr, "rms_norm: null weight");
  dit::verify_rms_norm(f32(x), x->rows, x->cols, vector(w, x->cols), eps, stream);
}

void CudaDitOps::Impl::v_rope(Mat& xm, int heads, int gf, int gh, int gw) {
  TensorPtr x = tensor(xm, "rope");
  SIXBIT_CHECK(x->rows == int64_t(gf) * gh * gw && heads > 0 && x->cols % heads == 0, "rope: shape mismatch");
  dit::verify_rope(f32(x), x->rows, x->cols, heads, rope_table(true, heads, x->cols, gf, gh, gw), stream);
}

void CudaDitOps::Impl::v_gelu(Mat& xm) {
  TensorPtr x = tensor(xm, "gelu_tanh");
  dit::verify_gelu(f32(x), x->rows * x->cols, stream);
}

void CudaDitOps::Impl::v_silu(Mat& xm) {
  TensorPtr x = tensor(xm, "silu");
  dit::verify_silu(f32(x), x->rows * x->cols, stream);
}

Mat CudaDitOps::Impl::v_add_modulation(const float* learned, const Mat& em, int64_t n) {
  TensorPtr e = tensor(em, "add_modulation");
  SIXBIT_CHECK(e->rows == 1 && e->cols > 0 && n % e->cols == 0, "add_modulation: e is [", e->rows, ",", e->cols, "], cannot broadcast to ", n);
  TensorPtr m = new_tensor(1, n, DType::kF32);
  dit::verify_add_modulation(vector(learned, n), f32(e), e->cols, f32(m), n, stream);
  return wrap(m);
}

void CudaDitOps::Impl::v_modulate(Mat& xm, const Mat& mod, int shift_chunk, int scale_chunk) {
  TensorPtr x = tensor(xm, "modulate");
  const float* shift = mod_chunk(mod, shift_chunk, x->cols);
  const float* scale = mod_chunk(mod, scale_chunk, x->cols);
  dit::verify_modulate(f32(x), x->rows, x->cols, shift, scale, stream);
}

void CudaDitOps::Impl::v_gated_add(Mat& xm, const Mat& ym, const Mat* mod, int gate_chunk) {
  TensorPtr x = tensor(xm, "gated_add x"), y = tensor(ym, "gated_add y");
  SIXBIT_CHECK(x->rows == y->rows && x->cols == y->cols, "gated_add: shape mismatch");
  const float* gate = mod ? mod_chunk(*mod, gate_chunk, x->cols) : nullptr;
  dit::verify_gated_add(f32(x), f32(y), gate, x->rows, x->cols, stream);
}

Mat CudaDitOps::Impl::v_sub(const Mat& am, const Mat& bm) {
  TensorPtr a = tensor(am, "sub a"), b = tensor(bm, "sub b");
  SIXBIT_CHECK(a->rows == b->rows && a->cols == b->cols, "sub: shape mismatch [", a->rows, ",", a->cols, "] vs [", b->rows, ",", b->cols, "]");
  TensorPtr d = new_tensor(a->rows, a->cols, DType::kF32, MemCategory::kResidualCache);
  dit::verify_sub(f32(a), f32(b), f32(d), a->rows * a->cols, stream);
  return wrap(d);
}

model::DiffNorms CudaDitOps::Impl::v_diff_norms(const Mat& am, const Mat& bm) {
  TensorPtr a = tensor(am, "diff_norms a"), b = tensor(bm, "diff_norms b");
  SIXBIT_CHECK(a->rows == b->rows && a->cols == b->cols, "diff_norms: shape mismatch [", a->rows, ",", a->cols, "] vs [", b->rows, ",", b->cols, "]");
  Buffer rows = arena.alloc(size_t(std::max<int64_t>(a->rows, 1)) * 4 * sizeof(double), MemCategory::kWorkspace);
  Buffer out = arena.alloc(4 * sizeof(double), MemCategory::kWorkspace);
  dit::verify_diff_norms(f32(a), f32(b), a->rows, a->cols, dit::ptr<double>(rows), dit::ptr<double>(out), stream);
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(host4, out.get(), 4 * sizeof(double), cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return model::DiffNorms{host4[0], host4[1], host4[2], host4[3]};
}

}  // namespace sixbit::cuda
