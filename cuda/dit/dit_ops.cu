// CudaDitOps: construction, tensors in and out, weights (uploaded once per host address, quantized once per format
// with the exact kernels of cuda/backend.hpp, so kFast and kVerify share the emulator's weight bits), RoPE tables,
// and the dispatch of every op to its kVerify (dit_ops_verify.cu) or kFast (dit_ops_fast.cu) implementation.
// Build: part of sixbit_cuda_dit. Tests: tests/gpu/gpu_dit_{verify,fast}.cpp. Design: docs/gpu-dit.md.
#include <cmath>
#include <cstring>
#include <utility>

#include "cuda/backend.hpp"
#include "cuda/dit/dit_impl.hpp"
#include "emulation/quant/nvfp4_block.hpp"

namespace sixbit::cuda {

using dit::Buffer;
using dit::DevTensor;
using dit::DType;
using dit::TensorPtr;
using model::Mat;

CudaDitOps::Impl::Impl(const CudaDitOptions& o)
    : opt(o), arena([&] {
        std::string why;
        SIXBIT_CHECK(device_available(&why), "CUDA backend: no usable GPU (", why, ")");
        int count = 0;
        SIXBIT_CUDA_CHECK(cudaGetDeviceCount(&count));
        SIXBIT_CHECK(o.device >= 0 && o.device < count, "CUDA backend: device ", o.device, " does not exist (", count, " device(s))");
        SIXBIT_CUDA_CHECK(cudaSetDevice(o.device));
        return o.device;
      }()) {
  SIXBIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  SIXBIT_CUDA_CHECK(cudaMallocHost(&host4, 4 * sizeof(double)));
  if (opt.poison) arena.set_poison(stream);
  profiling = opt.profile;
  if (opt.mode == DitMode::kFast) {
    lt_workspace = arena.alloc(dit::kLtWorkspaceBytes, MemCategory::kWorkspace);
    lt_zero = arena.alloc(sizeof(float), MemCategory::kWorkspace);
    SIXBIT_CUDA_CHECK(cudaMemsetAsync(lt_zero.get(), 0, sizeof(float), stream));
    lt = std::make_unique<dit::LtGemm>(lt_workspace.get(), dit::ptr<float>(lt_zero));
    if (opt.attention != AttentionBackend::kOwn) sdpa = std::make_unique<dit::CudnnSdpa>();
  }
}

CudaDitOps::Impl::~Impl() {
  if (stream) cudaStreamSynchronize(stream);
  for (auto& r : prof) cudaEventDestroy(r.a), cudaEventDestroy(r.b);
  for (cudaEvent_t e : prof_pool) cudaEventDestroy(e);
  lt.reset();
  sdpa.reset();
  if (host4) cudaFreeHost(host4);
  if (stream) cudaStreamDestroy(stream);
}

TensorPtr CudaDitOps::Impl::tensor(const Mat& m, const char* what) {
  SIXBIT_CHECK(m.dev != nullptr, what, ": this Mat has no device storage (host data enters the CUDA backend through from_host)");
  TensorPtr t = std::static_pointer_cast<DevTensor>(m.dev);
  SIXBIT_CHECK(t->rows == m.rows && t->cols == m.cols, what, ": Mat shape [", m.rows, ",", m.cols, "] does not match its device tensor [", t->rows,
               ",", t->cols, "]");
  return t;
}

Mat CudaDitOps::Impl::wrap(TensorPtr t) {
  Mat m;
  m.rows = t->rows, m.cols = t->cols;
  m.dev = std::move(t);
  return m;
}

TensorPtr CudaDitOps::Impl::new_tensor(int64_t rows, int64_t cols, DType dt, MemCategory cat) {
  auto t = std::make_shared<DevTensor>();
  t->rows = rows, t->cols = cols, t->dtype = dt;
  t->buf = arena.alloc(size_t(std::max<int64_t>(rows * cols, 1)) * dit::dtype_bytes(dt), cat);
  return t;
}

void CudaDitOps::Impl::upload(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));  // pageable source: the host buffer must outlive the copy
}

Buffer CudaDitOps::Impl::vector_buf(const float* host, int64_t n) {
  SIXBIT_CHECK(host != nullptr, "CUDA backend: null weight vector");
  auto it = vectors.find(host);
  if (it == vectors.end()) {
    Buffer b = arena.alloc(size_t(n) * sizeof(float), MemCategory::kWeightF32);
    upload(b.get(), host, size_t(n) * sizeof(float));
    arena.add_weight_params(n);
    it = vectors.emplace(host, std::make_pair(n, b)).first;
  }
  SIXBIT_CHECK(it->second.first == n, "weight vector at ", static_cast<const void*>(host), " was used with ", it->second.first, " and now ", n,
               " elements");
  return it->second.second;
}

const float* CudaDitOps::Impl::vector(const float* host, int64_t n) { return host ? dit::ptr<float>(vector_buf(host, n)) : nullptr; }

dit::WeightEntry& CudaDitOps::Impl::weight(const float* w, int64_t out, int64_t in) {
  SIXBIT_CHECK(w != nullptr, "linear: null weight");
  auto it = weights.find(w);
  if (it == weights.end()) {
    it = weights.emplace(w, dit::WeightEntry{}).first;
    it->second.out = out, it->second.in = in;
    arena.add_weight_params(out * in);
  }
  SIXBIT_CHECK(it->second.out == out && it->second.in == in, "weight at ", static_cast<const void*>(w), " was [", it->second.out, ",", it->second.in,
               "] and is now used as [", out, ",", in, "]");
  return it->second;
}

namespace {
// fp32 staging copy of a host weight, then checks: NaN (and Inf for INT8) are refused as the emulator refuses them.
struct Staged {
  Buffer f32, amax, nan;
  float amax_host = 0.0f;
  unsigned nan_host = 0;
};
}  // namespace

void CudaDitOps::Impl::weight_f32(dit::WeightEntry& e, const float* w) {
  if (e.f32) return;
  e.f32 = arena.alloc(size_t(e.out * e.in) * sizeof(float), MemCategory::kWeightF32);
  upload(e.f32.get(), w, size_t(e.out * e.in) * sizeof(float));
}

void CudaDitOps::Impl::weight_bf16(dit::WeightEntry& e, const float* w) {
  if (e.bf16) return;
  Buffer st = arena.alloc(size_t(e.out * e.in) * sizeof(float), MemCategory::kWorkspace);
  upload(st.get(), w, size_t(e.out * e.in) * sizeof(float));
  e.bf16 = arena.alloc(size_t(e.out * e.in) * 2, MemCategory::kWeightBf16);
  dit::f32_to_bf16(dit::ptr<float>(st), e.bf16.get(), e.out * e.in, stream);
}

void CudaDitOps::Impl::weight_nvfp4(dit::WeightEntry& e, const float* w) {
  if (e.nvfp4_packed) return;
  SIXBIT_CHECK(e.in % 16 == 0, "NVFP4 weight: in_features ", e.in, " is not a multiple of 16");
  const int64_t n = e.out * e.in;
  Buffer st = arena.alloc(size_t(n) * sizeof(float), MemCategory::kWorkspace);
  upload(st.get(), w, size_t(n) * sizeof(float));
  Buffer amax = arena.alloc(sizeof(float) + sizeof(unsigned), MemCategory::kWorkspace);
  float* a = dit::ptr<float>(amax);
  unsigned* nan = reinterpret_cast<unsigned*>(a + 1);
  // Amax and quantize in one launch; the codes are kept only if the weight had no NaN (checked after, as the
  // emulator refuses NaN before quantizing).
  Buffer packed = arena.alloc(size_t(n / 2), MemCategory::kNvfp4Codes), scales = arena.alloc(size_t(n / 16), MemCategory::kNvfp4Scales);
  nvfp4_quantize_fused_amax(dit::ptr<float>(st), e.out, e.in, opt.recipe, a, nan, dit::ptr<uint8_t>(packed), dit::ptr<uint8_t>(scales),
                            quant::ScaleLayout::kRowMajor, stream);
  float host[2];
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(host, a, sizeof host, cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  unsigned nans;
  std::memcpy(&nans, &host[1], sizeof nans);
  SIXBIT_CHECK(nans == 0, "weight has ", nans, " NaN value(s); NVFP4 quantization needs finite or Inf input");
  e.nvfp4_packed = std::move(packed), e.nvfp4_scales = std::move(scales);
  e.nvfp4_global_decode = quant::nvfp4_global_scales(opt.recipe, host[0]).decode;
}

void CudaDitOps::Impl::weight_int8(dit::WeightEntry& e, const float* w) {
  if (e.int8_codes) return;
  const int64_t n = e.out * e.in;
  Buffer st = arena.alloc(size_t(n) * sizeof(float), MemCategory::kWorkspace);
  upload(st.get(), w, size_t(n) * sizeof(float));
  Buffer amax = arena.alloc(sizeof(float) + sizeof(unsigned), MemCategory::kWorkspace);
  float* a = dit::ptr<float>(amax);
  unsigned* nan = reinterpret_cast<unsigned*>(a + 1);
  tensor_amax(dit::ptr<float>(st), n, a, nan, stream);
  float host[2];
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(host, a, sizeof host, cudaMemcpyDeviceToHost, stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(stream));
  unsigned nans;
  std::memcpy(&nans, &host[1], sizeof nans);
  SIXBIT_CHECK(nans == 0 && std::isfinite(host[0]), "INT8 quantization needs finite input; the weight has NaN or Inf");
  e.int8_codes = arena.alloc(size_t(n), MemCategory::kInt8Codes);
  e.int8_scales = arena.alloc(size_t(e.out) * sizeof(float), MemCategory::kInt8Scales);
  int8_quantize_rows(dit::ptr<float>(st), e.out, e.in, dit::ptr<int8_t>(e.int8_codes), dit::ptr<float>(e.int8_scales), stream);
}

void CudaDitOps::Impl::weight_bias(dit::WeightEntry& e, const float* bias, bool bf16) {
  if (!bias) return;
  if (!e.bias_f32) e.bias_f32 = vector_buf(bias, e.out);
  if (bf16 && !e.bias_bf16) {
    e.bias_bf16 = arena.alloc(size_t(e.out) * 2, MemCategory::kWeightBf16);
    dit::f32_to_bf16(dit::ptr<float>(e.bias_f32), e.bias_bf16.get(), e.out, stream);
  }
}

// The angles of ReferenceOps::rope, computed here on the host with the same expressions (so the same bits).
const dit::RopeTable& CudaDitOps::Impl::rope_table(bool verify, int heads, int64_t cols, int gf, int gh, int gw) {
  SIXBIT_CHECK(heads > 0 && cols % heads == 0 && (cols / heads) % 2 == 0, "rope: ", cols, " columns do not split into ", heads, " even heads");
  const int64_t d = cols / heads, c = d / 2;
  const auto key = std::make_tuple(verify, int(d), gf, gh, gw);
  auto it = ropes.find(key);
  if (it != ropes.end()) return it->second.table;
  const int64_t parts[3] = {c - 2 * (c / 3), c / 3, c / 3};
  std::vector<double> inv_freq(static_cast<size_t>(c));
  for (int64_t p = 0, j0 = 0; p < 3; j0 += parts[p], ++p)
    for (int64_t j = 0; j < parts[p]; ++j) inv_freq[j0 + j] = 1.0 / std::pow(10000.0, double(2 * j) / double(2 * parts[p]));
  const int64_t rows = int64_t(gf) + gh + gw;
  std::vector<double> cs(size_t(rows * c)), sn(size_t(rows * c));
  const int len[3] = {gf, gh, gw};
  for (int a = 0, base = 0; a < 3; base += len[a], ++a)
    for (int pos = 0; pos < len[a]; ++pos)
      for (int64_t j = 0; j < c; ++j) {
        const double ang = double(pos) * inv_freq[j];
        cs[(base + pos) * c + j] = std::cos(ang), sn[(base + pos) * c + j] = std::sin(ang);
      }
  RopeEntry e;
  const size_t bytes = size_t(rows * c) * (verify ? sizeof(double) : sizeof(float));
  e.cos = arena.alloc(bytes, MemCategory::kWorkspace), e.sin = arena.alloc(bytes, MemCategory::kWorkspace);
  if (verify) {
    upload(e.cos.get(), cs.data(), bytes), upload(e.sin.get(), sn.data(), bytes);
  } else {
    std::vector<float> fc(cs.begin(), cs.end()), fs(sn.begin(), sn.end());
    upload(e.cos.get(), fc.data(), bytes), upload(e.sin.get(), fs.data(), bytes);
  }
  e.table = dit::RopeTable{e.cos.get(), e.sin.get(), int(c), int(parts[0]), int(parts[0] + parts[1]), gf, gh, gw};
  return ropes.emplace(key, std::move(e)).first->second.table;
}

const float* CudaDitOps::Impl::mod_chunk(const Mat& mod, int chunk, int64_t cols) {
  TensorPtr m = tensor(mod, "modulation");
  SIXBIT_CHECK(m->rows == 1 && chunk >= 0 && (int64_t(chunk) + 1) * cols <= m->cols, "modulation chunk ", chunk, " of width ", cols,
               " is outside a modulation vector of ", m->cols);
  SIXBIT_CHECK(!m->pending && m->dtype == DType::kF32, "modulation vector must be a materialised fp32 vector (from add_modulation)");
  return dit::ptr<float>(m->buf) + int64_t(chunk) * cols;
}

cudaEvent_t CudaDitOps::Impl::prof_event() {
  if (!prof_pool.empty()) {
    cudaEvent_t e = prof_pool.back();
    prof_pool.pop_back();
    return e;
  }
  cudaEvent_t e;
  SIXBIT_CUDA_CHECK(cudaEventCreate(&e));
  return e;
}

CudaDitOps::Impl::Prof::Prof(Impl* i, int c) : im(i), cat(c) {
  if (!im->profiling) return;
  a = im->prof_event();
  SIXBIT_CUDA_CHECK(cudaEventRecord(a, im->stream));
}

CudaDitOps::Impl::Prof::~Prof() {
  if (!a) return;
  cudaEvent_t b = im->prof_event();
  if (cudaEventRecord(b, im->stream) == cudaSuccess) im->prof.push_back({cat, a, b});
}

void CudaDitOps::set_profiling(bool on) { impl_->profiling = on; }

OpProfile CudaDitOps::profile() {
  OpProfile r;
  synchronize();
  for (auto& rec : impl_->prof) {
    float ms = 0;
    SIXBIT_CUDA_CHECK(cudaEventElapsedTime(&ms, rec.a, rec.b));
    double* slot[] = {&r.attention_ms, &r.gemm_ms, &r.row_ms, &r.quant_ms, &r.other_ms};
    *slot[rec.cat] += ms;
    ++r.groups;
    impl_->prof_pool.push_back(rec.a), impl_->prof_pool.push_back(rec.b);
  }
  impl_->prof.clear();
  return r;
}

// ---- public interface --------------------------------------------------------------------------------------------

CudaDitOps::CudaDitOps(const CudaDitOptions& options) : impl_(std::make_unique<Impl>(options)) {}
CudaDitOps::~CudaDitOps() = default;

void CudaDitOps::set_plan(const model::PrecisionPlan& plan) { impl_->plan = plan; }
const model::PrecisionPlan& CudaDitOps::plan() const { return impl_->plan; }
const CudaDitOptions& CudaDitOps::options() const { return impl_->opt; }
std::string CudaDitOps::attention_backend_in_use() const { return impl_->attention_in_use; }
std::string CudaDitOps::w8a8_gemm_in_use() const { return impl_->w8a8_gemm_in_use; }
std::string CudaDitOps::w4a8_gemm_in_use() const { return impl_->w4a8_gemm_in_use; }
std::string CudaDitOps::kernels_in_use() const {
  const std::string w4a4 = impl_->w4a4_gemm_in_use == "none" ? "" : ", W4A4 GEMM " + impl_->w4a4_gemm_in_use;
  return "attention " + impl_->attention_in_use + ", W8A8 GEMM " + impl_->w8a8_gemm_in_use + ", W4A8 GEMM " + impl_->w4a8_gemm_in_use + w4a4;
}

// Whether a linear of in_features K runs on an sm90 kernel (which needs K % k_multiple == 0); records the kernel's
// name in `in_use`.
static bool on_sm90(const CudaDitOptions& opt, int64_t K, std::string& in_use, const char* sm90_name, const char* fallback_name,
                    int64_t k_multiple = 16) {
  const bool sm90 = opt.sm90_gemm && K % k_multiple == 0 && sm90_gemm_supported(opt.device);  // the support check is cached per device
  in_use = sm90 ? sm90_name : fallback_name;
  return sm90;
}
bool CudaDitOps::Impl::w8a8_on_sm90(int64_t K) { return on_sm90(opt, K, w8a8_gemm_in_use, "sm90-wgmma", "cublaslt-int8"); }
bool CudaDitOps::Impl::w4a8_on_sm90(int64_t K) {
  return opt.mode == DitMode::kVerify ? on_sm90(opt, K, w4a8_gemm_in_use, "sm90-wgmma-exact", "tiled-exact")
                                      : on_sm90(opt, K, w4a8_gemm_in_use, "sm90-wgmma-fused", "cublaslt-bf16");
}
bool CudaDitOps::Impl::w4a4_on_sm90(int64_t K) {  // 16-byte packed rows for the kernel's TMA: K % 32 == 0
  return on_sm90(opt, K, w4a4_gemm_in_use, "sm90-wgmma-exact", "tiled-exact", 32);
}
void* CudaDitOps::Impl::w_scratch(size_t bytes) {
  if (bytes > w_dequant_bytes) w_dequant = arena.alloc(bytes, MemCategory::kWorkspace), w_dequant_bytes = bytes;
  return w_dequant.get();
}
MemoryReport CudaDitOps::memory() const { return impl_->arena.report(); }
void CudaDitOps::reset_peaks() { impl_->arena.reset_peaks(); }
void CudaDitOps::synchronize() const { SIXBIT_CUDA_CHECK(cudaStreamSynchronize(impl_->stream)); }
void* CudaDitOps::stream() const { return impl_->stream; }
const std::map<model::LinearPrecision, int64_t>& CudaDitOps::calls() const { return impl_->calls; }

Mat CudaDitOps::from_host(Mat host) {
  SIXBIT_CHECK(host.dev == nullptr, "from_host: the Mat is already a device tensor");
  SIXBIT_CHECK(host.rows >= 0 && host.cols >= 0 && int64_t(host.v.size()) == host.rows * host.cols, "from_host: Mat [", host.rows, ",", host.cols,
               "] holds ", host.v.size(), " values");
  TensorPtr t = impl_->new_tensor(host.rows, host.cols, DType::kF32);
  impl_->upload(t->buf.get(), host.v.data(), host.v.size() * sizeof(float));
  return Impl::wrap(std::move(t));
}

Mat CudaDitOps::to_host(const Mat& x) {
  if (impl_->opt.mode == DitMode::kFast) return impl_->f_to_host(x);
  TensorPtr t = Impl::tensor(x, "to_host");
  Mat h(t->rows, t->cols);
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(h.v.data(), t->buf.get(), h.v.size() * sizeof(float), cudaMemcpyDeviceToHost, impl_->stream));
  SIXBIT_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  return h;
}

Mat CudaDitOps::clone(const Mat& x) {
  if (impl_->opt.mode == DitMode::kFast) return impl_->f_clone(x);
  TensorPtr t = Impl::tensor(x, "clone");
  TensorPtr c = impl_->new_tensor(t->rows, t->cols, DType::kF32);
  SIXBIT_CUDA_CHECK(cudaMemcpyAsync(c->buf.get(), t->buf.get(), size_t(t->rows * t->cols) * sizeof(float), cudaMemcpyDeviceToDevice, impl_->stream));
  return Impl::wrap(std::move(c));
}

#define SIXBIT_DISPATCH(verify_call, fast_call) return impl_->opt.mode == DitMode::kFast ? impl_->fast_call : impl_->verify_call

Mat CudaDitOps::linear(const Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id) {
  ++impl_->calls[impl_->plan.of(id)];
  SIXBIT_DISPATCH(v_linear(x, w, out, bias, id), f_linear(x, w, out, bias, id));
}
Mat CudaDitOps::attention(const Mat& q, const Mat& k, const Mat& v, int heads) { SIXBIT_DISPATCH(v_attention(q, k, v, heads), f_attention(q, k, v, heads)); }
void CudaDitOps::layer_norm(Mat& x, const float* weight, const float* bias, float eps) {
  if (impl_->opt.mode == DitMode::kFast) {
    const int64_t n = Impl::tensor(x, "layer_norm")->cols;
    impl_->f_stage(x, dit::RowStage{dit::RowStageKind::kLayerNorm, eps, impl_->vector(weight, n), impl_->vector(bias, n)});
  } else {
    impl_->v_layer_norm(x, weight, bias, eps);
  }
}
void CudaDitOps::rms_norm(Mat& x, const float* weight, float eps) {
  if (impl_->opt.mode == DitMode::kFast) {
    const int64_t n = Impl::tensor(x, "rms_norm")->cols;
    SIXBIT_CHECK(weight != nullptr, "rms_norm: null weight");
    impl_->f_stage(x, dit::RowStage{dit::RowStageKind::kRmsNorm, eps, impl_->vector(weight, n)});
  } else {
    impl_->v_rms_norm(x, weight, eps);
  }
}
void CudaDitOps::rope(Mat& x, int heads, int gf, int gh, int gw) {
  if (impl_->opt.mode == DitMode::kFast) impl_->f_rope(x, heads, gf, gh, gw);
  else impl_->v_rope(x, heads, gf, gh, gw);
}
void CudaDitOps::gelu_tanh(Mat& x) {
  if (impl_->opt.mode == DitMode::kFast) impl_->f_stage(x, dit::RowStage{dit::RowStageKind::kGelu});
  else impl_->v_gelu(x);
}
void CudaDitOps::silu(Mat& x) {
  if (impl_->opt.mode == DitMode::kFast) impl_->f_stage(x, dit::RowStage{dit::RowStageKind::kSilu});
  else impl_->v_silu(x);
}
Mat CudaDitOps::add_modulation(const float* learned, const Mat& e, int64_t n) {
  SIXBIT_DISPATCH(v_add_modulation(learned, e, n), f_add_modulation(learned, e, n));
}
void CudaDitOps::modulate(Mat& x, const Mat& mod, int shift_chunk, int scale_chunk) {
  if (impl_->opt.mode == DitMode::kFast) impl_->f_modulate(x, mod, shift_chunk, scale_chunk);
  else impl_->v_modulate(x, mod, shift_chunk, scale_chunk);
}
void CudaDitOps::gated_add(Mat& x, const Mat& y, const Mat* mod, int gate_chunk) {
  if (impl_->opt.mode == DitMode::kFast) impl_->f_gated_add(x, y, mod, gate_chunk);
  else impl_->v_gated_add(x, y, mod, gate_chunk);
}
Mat CudaDitOps::sub(const Mat& a, const Mat& b) { SIXBIT_DISPATCH(v_sub(a, b), f_sub(a, b)); }
model::DiffNorms CudaDitOps::diff_norms(const Mat& a, const Mat& b) { SIXBIT_DISPATCH(v_diff_norms(a, b), f_diff_norms(a, b)); }

std::unique_ptr<model::DitOps> make_cuda_dit_ops(const CudaDitOptions& options) { return std::make_unique<CudaDitOps>(options); }

}  // namespace sixbit::cuda
