// cuDNN fused SDPA through the backend graph API (see sdpa_cudnn.hpp). The graphs follow what NVIDIA's
// cudnn_frontend builds for `sdpa` (include/cudnn_frontend/node/scaled_dot_product_flash_attention.h and
// softmax.h, read 2026-11): UnifiedSDPANode (one CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, cuDNN >= 9.13.1) and
// CompositeSDPANode (bmm1 with K given as K^T through swapped dims/strides, fp32 virtual scores, a by-value scale,
// max / sub / exp / sum reductions and pointwise ops, the virtual stats log(sum) + max, div, the probabilities
// cast to bf16, bmm2). libcudnn is dlopen'ed. Build: part of sixbit_cuda_dit; run: tests/gpu/gpu_dit_{verify,fast}.cpp, bench.
#include "cuda/dit/sdpa_cudnn.hpp"

#include <dlfcn.h>

#include <vector>

#include "common/check.hpp"

#if __has_include(<cudnn.h>)
#include <cudnn.h>
#define SIXBIT_HAVE_CUDNN_HEADERS 1
#else
#define SIXBIT_HAVE_CUDNN_HEADERS 0
#endif

namespace sixbit::cuda::dit {

#if SIXBIT_HAVE_CUDNN_HEADERS
namespace {
struct Api {
  void* lib = nullptr;
  size_t (*GetVersion)() = nullptr;
  const char* (*GetErrorString)(cudnnStatus_t) = nullptr;
  cudnnStatus_t (*Create)(cudnnHandle_t*) = nullptr;
  cudnnStatus_t (*Destroy)(cudnnHandle_t) = nullptr;
  cudnnStatus_t (*SetStream)(cudnnHandle_t, cudaStream_t) = nullptr;
  cudnnStatus_t (*CreateDesc)(cudnnBackendDescriptorType_t, cudnnBackendDescriptor_t*) = nullptr;
  cudnnStatus_t (*DestroyDesc)(cudnnBackendDescriptor_t) = nullptr;
  cudnnStatus_t (*Finalize)(cudnnBackendDescriptor_t) = nullptr;
  cudnnStatus_t (*SetAttr)(cudnnBackendDescriptor_t, cudnnBackendAttributeName_t, cudnnBackendAttributeType_t, int64_t, const void*) = nullptr;
  cudnnStatus_t (*GetAttr)(cudnnBackendDescriptor_t, cudnnBackendAttributeName_t, cudnnBackendAttributeType_t, int64_t, int64_t*, void*) = nullptr;
  cudnnStatus_t (*Execute)(cudnnHandle_t, cudnnBackendDescriptor_t, cudnnBackendDescriptor_t) = nullptr;
};

template <typename F>
bool sym(void* lib, const char* name, F& f) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  return f != nullptr;
}

// A backend descriptor owned by this scope.
struct Desc {
  const Api* api = nullptr;
  cudnnBackendDescriptor_t d = nullptr;
  Desc() = default;
  Desc(const Api& a, cudnnBackendDescriptorType_t t) : api(&a) {
    if (a.CreateDesc(t, &d) != CUDNN_STATUS_SUCCESS) d = nullptr;
  }
  Desc(Desc&& o) noexcept : api(o.api), d(o.d) { o.d = nullptr; }
  Desc& operator=(Desc&&) = delete;
  ~Desc() { if (d) api->DestroyDesc(d); }
};

// Records the first failing status of a sequence of backend calls.
struct Status {
  const Api& api;
  cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
  std::string where;
  void operator()(cudnnStatus_t s, const char* what) {
    if (st == CUDNN_STATUS_SUCCESS && s != CUDNN_STATUS_SUCCESS) st = s, where = what;
  }
  bool ok() const { return st == CUDNN_STATUS_SUCCESS; }
  std::string message() const { return where + ": " + (api.GetErrorString ? api.GetErrorString(st) : "cuDNN error"); }
};
}  // namespace

struct CudnnSdpa::Impl {
  Api api;
  cudnnHandle_t handle = nullptr;
  std::string load_error;
  struct Plan {
    std::vector<Desc> keep;  // tensors, ops, graph, config, plan
    cudnnBackendDescriptor_t plan = nullptr;
    int64_t workspace = 0;
    bool unified = false;
  };
  std::map<SdpaShape, Plan> plans;

  Impl() {
    const char* names[] = {"libcudnn.so.9", "libcudnn.so"};
    for (const char* n : names)
      if ((api.lib = dlopen(n, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    if (!api.lib) {
      load_error = std::string("libcudnn.so.9 not found (") + dlerror() + ")";
      return;
    }
    const bool ok = sym(api.lib, "cudnnGetVersion", api.GetVersion) && sym(api.lib, "cudnnGetErrorString", api.GetErrorString) &&
                    sym(api.lib, "cudnnCreate", api.Create) && sym(api.lib, "cudnnDestroy", api.Destroy) &&
                    sym(api.lib, "cudnnSetStream", api.SetStream) && sym(api.lib, "cudnnBackendCreateDescriptor", api.CreateDesc) &&
                    sym(api.lib, "cudnnBackendDestroyDescriptor", api.DestroyDesc) && sym(api.lib, "cudnnBackendFinalize", api.Finalize) &&
                    sym(api.lib, "cudnnBackendSetAttribute", api.SetAttr) && sym(api.lib, "cudnnBackendGetAttribute", api.GetAttr) &&
                    sym(api.lib, "cudnnBackendExecute", api.Execute);
    if (!ok) { load_error = "libcudnn lacks a backend API symbol"; return; }
    if (api.GetVersion() < 90000) { load_error = "cuDNN " + std::to_string(api.GetVersion()) + " is older than 9.0"; return; }
    if (api.Create(&handle) != CUDNN_STATUS_SUCCESS) { load_error = "cudnnCreate failed"; handle = nullptr; }
  }
  ~Impl() {
    plans.clear();
    if (handle) api.Destroy(handle);
    // libcudnn stays loaded: unloading a CUDA library at exit races with the runtime's own teardown.
  }

  Desc tensor(Status& st, int64_t uid, cudnnDataType_t type, const int64_t dims[4], const int64_t strides[4], bool is_virtual, bool by_value = false) {
    Desc t(api, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t align = 16;
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type), "tensor type");
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims), "tensor dims");
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides), "tensor strides");
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid), "tensor uid");
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align), "tensor alignment");
    st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual), "tensor virtual");
    if (by_value) st(api.SetAttr(t.d, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value), "tensor by value");
    st(api.Finalize(t.d), "tensor finalize");
    return t;
  }
  Desc pointwise(Status& st, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y) {
    Desc pw(api, CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    st(api.SetAttr(pw.d, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode), "pointwise mode");
    st(api.SetAttr(pw.d, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec), "pointwise precision");
    st(api.Finalize(pw.d), "pointwise finalize");
    Desc op(api, CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw.d), "pointwise op");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x), "pointwise x");
    if (b) st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b), "pointwise b");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y), "pointwise y");
    st(api.Finalize(op.d), "pointwise op finalize");
    pending_keep.push_back(std::move(pw));
    return op;
  }
  Desc reduction(Status& st, cudnnReduceTensorOp_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t y) {
    Desc rd(api, CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    st(api.SetAttr(rd.d, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &mode), "reduction mode");
    st(api.SetAttr(rd.d, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec), "reduction precision");
    st(api.Finalize(rd.d), "reduction finalize");
    Desc op(api, CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_REDUCTION_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &rd.d), "reduction op");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x), "reduction x");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y), "reduction y");
    st(api.Finalize(op.d), "reduction op finalize");
    pending_keep.push_back(std::move(rd));
    return op;
  }
  Desc matmul(Status& st, cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t c) {
    Desc mm(api, CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    st(api.SetAttr(mm.d, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec), "matmul precision");
    st(api.Finalize(mm.d), "matmul finalize");
    Desc op(api, CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_MATMUL_ADESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &a), "matmul a");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_MATMUL_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b), "matmul b");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_MATMUL_CDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &c), "matmul c");
    st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_MATMUL_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &mm.d), "matmul op");
    st(api.Finalize(op.d), "matmul op finalize");
    pending_keep.push_back(std::move(mm));
    return op;
  }
  std::vector<Desc> pending_keep;

  // Operation graph -> heuristics (mode A) -> the first engine config whose plan finalizes.
  bool finish(Status& st, std::vector<Desc>& ops, Plan& out) {
    std::vector<cudnnBackendDescriptor_t> raw;
    for (auto& o : ops) raw.push_back(o.d);
    Desc graph(api, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    st(api.SetAttr(graph.d, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle), "graph handle");
    st(api.SetAttr(graph.d, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, int64_t(raw.size()), raw.data()), "graph ops");
    st(api.Finalize(graph.d), "graph finalize");
    if (!st.ok()) return false;
    Desc heur(api, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    st(api.SetAttr(heur.d, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph.d), "heuristics graph");
    st(api.SetAttr(heur.d, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode), "heuristics mode");
    st(api.Finalize(heur.d), "heuristics finalize");
    if (!st.ok()) return false;
    int64_t count = 0;
    st(api.GetAttr(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr), "heuristics count");
    if (!st.ok() || count == 0) { if (st.ok()) st(CUDNN_STATUS_NOT_SUPPORTED, "heuristics: no engine"); return false; }
    std::vector<Desc> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw_cfgs;
    for (int64_t i = 0; i < count; ++i) {
      cfgs.emplace_back(api, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw_cfgs.push_back(cfgs.back().d);
    }
    st(api.GetAttr(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, raw_cfgs.data()), "heuristics results");
    if (!st.ok()) return false;
    for (int64_t i = 0; i < count; ++i) {
      Desc plan(api, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      Status ps{api};
      ps(api.SetAttr(plan.d, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle), "plan handle");
      ps(api.SetAttr(plan.d, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw_cfgs[i]), "plan config");
      ps(api.Finalize(plan.d), "plan finalize");
      if (!ps.ok()) { st.st = ps.st, st.where = ps.where; continue; }
      int64_t n = 0;
      ps(api.GetAttr(plan.d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &n, &out.workspace), "plan workspace");
      if (!ps.ok()) continue;
      st.st = CUDNN_STATUS_SUCCESS;
      out.plan = plan.d;
      for (auto& o : ops) out.keep.push_back(std::move(o));
      for (auto& o : pending_keep) out.keep.push_back(std::move(o));
      out.keep.push_back(std::move(graph)), out.keep.push_back(std::move(heur)), out.keep.push_back(std::move(cfgs[i]));
      out.keep.push_back(std::move(plan));
      return true;
    }
    return false;
  }

  static void bhsd(const SdpaShape& s, int64_t seq, int64_t dims[4], int64_t strides[4]) {
    const int64_t ld = int64_t(s.heads) * s.d;
    dims[0] = 1, dims[1] = s.heads, dims[2] = seq, dims[3] = s.d;
    strides[0] = seq * ld, strides[1] = s.d, strides[2] = ld, strides[3] = 1;
  }

  bool build_unified(const SdpaShape& s, Plan& out, std::string* why) {
    pending_keep.clear();
    Status st{api};
    int64_t d[4], str[4];
    bhsd(s, s.sq, d, str);
    Desc q = tensor(st, 1, CUDNN_DATA_BFLOAT16, d, str, false), o = tensor(st, 4, CUDNN_DATA_BFLOAT16, d, str, false);
    bhsd(s, s.sk, d, str);
    Desc k = tensor(st, 2, CUDNN_DATA_BFLOAT16, d, str, false), v = tensor(st, 3, CUDNN_DATA_BFLOAT16, d, str, false);
    const int64_t one[4] = {1, 1, 1, 1};
    Desc scale = tensor(st, 5, CUDNN_DATA_FLOAT, one, one, false, true);
    Desc op(api, CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    st(op.d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED, "create SDPA_FWD");
    if (st.ok()) {
      st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &q.d), "sdpa q");
      st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &k.d), "sdpa k");
      st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v.d), "sdpa v");
      st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o.d), "sdpa o");
      st(api.SetAttr(op.d, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &scale.d), "sdpa scale");
      st(api.Finalize(op.d), "sdpa finalize");
    }
    std::vector<Desc> ops;
    ops.push_back(std::move(op));
    const bool ok = st.ok() && finish(st, ops, out);
    if (!ok) { if (why) *why = "unified: " + st.message(); return false; }
    for (Desc* t : {&q, &k, &v, &o, &scale}) out.keep.push_back(std::move(*t));
    out.unified = true;
    return true;
  }

  bool build_composite(const SdpaShape& s, Plan& out, std::string* why) {
    pending_keep.clear();
    Status st{api};
    int64_t d[4], str[4];
    bhsd(s, s.sq, d, str);
    Desc q = tensor(st, 1, CUDNN_DATA_BFLOAT16, d, str, false), o = tensor(st, 4, CUDNN_DATA_BFLOAT16, d, str, false);
    bhsd(s, s.sk, d, str);
    Desc v = tensor(st, 3, CUDNN_DATA_BFLOAT16, d, str, false);
    std::swap(d[2], d[3]), std::swap(str[2], str[3]);  // K -> K^T [1, h, d, s_kv]
    Desc kt = tensor(st, 2, CUDNN_DATA_BFLOAT16, d, str, false);
    const int64_t one[4] = {1, 1, 1, 1};
    Desc scale = tensor(st, 5, CUDNN_DATA_FLOAT, one, one, false, true);
    const int64_t sd[4] = {1, s.heads, s.sq, s.sk}, ss[4] = {s.heads * s.sq * s.sk, s.sq * s.sk, s.sk, 1};
    const int64_t rd[4] = {1, s.heads, s.sq, 1}, rs[4] = {s.heads * s.sq, s.sq, 1, 1};
    Desc s1 = tensor(st, 101, CUDNN_DATA_FLOAT, sd, ss, true), s2 = tensor(st, 102, CUDNN_DATA_FLOAT, sd, ss, true);
    Desc mx = tensor(st, 103, CUDNN_DATA_FLOAT, rd, rs, true), sub = tensor(st, 104, CUDNN_DATA_FLOAT, sd, ss, true);
    Desc ex = tensor(st, 105, CUDNN_DATA_FLOAT, sd, ss, true), sum = tensor(st, 106, CUDNN_DATA_FLOAT, rd, rs, true);
    Desc lg = tensor(st, 107, CUDNN_DATA_FLOAT, rd, rs, true), stats = tensor(st, 108, CUDNN_DATA_FLOAT, rd, rs, true);
    Desc p = tensor(st, 109, CUDNN_DATA_BFLOAT16, sd, ss, true);
    std::vector<Desc> ops;
    if (st.ok()) {
      ops.push_back(matmul(st, q.d, kt.d, s1.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_MUL, s1.d, scale.d, s2.d));
      ops.push_back(reduction(st, CUDNN_REDUCE_TENSOR_MAX, s2.d, mx.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_SUB, s2.d, mx.d, sub.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_EXP, sub.d, nullptr, ex.d));
      ops.push_back(reduction(st, CUDNN_REDUCE_TENSOR_ADD, ex.d, sum.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_LOG, sum.d, nullptr, lg.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_ADD, mx.d, lg.d, stats.d));
      ops.push_back(pointwise(st, CUDNN_POINTWISE_DIV, ex.d, sum.d, p.d));
      ops.push_back(matmul(st, p.d, v.d, o.d));
    }
    const bool ok = st.ok() && finish(st, ops, out);
    if (!ok) { if (why) *why = "composite: " + st.message(); return false; }
    for (Desc* t : {&q, &kt, &v, &o, &scale, &s1, &s2, &mx, &sub, &ex, &sum, &lg, &stats, &p}) out.keep.push_back(std::move(*t));
    out.unified = false;
    return true;
  }
};

CudnnSdpa::CudnnSdpa() : impl_(std::make_unique<Impl>()) {}
CudnnSdpa::~CudnnSdpa() = default;

bool CudnnSdpa::available(std::string* why) {
  if (impl_->handle) return true;
  if (why) *why = impl_->load_error;
  return false;
}

std::string CudnnSdpa::version() const { return impl_->api.GetVersion ? std::to_string(impl_->api.GetVersion()) : "none"; }

bool CudnnSdpa::prepare(const SdpaShape& s, int64_t* workspace_bytes, std::string* why) {
  if (!available(why)) return false;
  auto it = impl_->plans.find(s);
  if (it == impl_->plans.end()) {
    Impl::Plan plan;
    std::string why_u, why_c;
    const bool ok = (impl_->api.GetVersion() >= 91301 && impl_->build_unified(s, plan, &why_u)) || impl_->build_composite(s, plan, &why_c);
    if (!ok) {
      if (why) *why = (why_u.empty() ? std::string() : why_u + "; ") + why_c;
      return false;
    }
    it = impl_->plans.emplace(s, std::move(plan)).first;
  }
  if (workspace_bytes) *workspace_bytes = it->second.workspace;
  return true;
}

std::string CudnnSdpa::variant(const SdpaShape& s) const {
  const auto it = impl_->plans.find(s);
  return it == impl_->plans.end() ? "none" : (it->second.unified ? "unified" : "composite");
}

void CudnnSdpa::run(const SdpaShape& s, const void* q, const void* k, const void* v, void* o, void* workspace, cudaStream_t stream) {
  const auto it = impl_->plans.find(s);
  SIXBIT_CHECK(it != impl_->plans.end(), "cuDNN SDPA: shape not prepared");
  const Api& api = impl_->api;
  Status st{api};
  st(api.SetStream(impl_->handle, stream), "set stream");
  float scale = s.scale;
  const int64_t uids[5] = {1, 2, 3, 4, 5};
  void* ptrs[5] = {const_cast<void*>(q), const_cast<void*>(k), const_cast<void*>(v), o, &scale};
  Desc pack(api, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  st(api.SetAttr(pack.d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uids), "pack uids");
  st(api.SetAttr(pack.d, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, ptrs), "pack pointers");
  st(api.SetAttr(pack.d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace), "pack workspace");
  st(api.Finalize(pack.d), "pack finalize");
  st(api.Execute(impl_->handle, it->second.plan, pack.d), "execute");
  SIXBIT_CHECK(st.ok(), "cuDNN SDPA: ", st.message());
}

#else  // no cudnn.h at build time

struct CudnnSdpa::Impl {};
CudnnSdpa::CudnnSdpa() = default;
CudnnSdpa::~CudnnSdpa() = default;
bool CudnnSdpa::available(std::string* why) {
  if (why) *why = "built without cudnn.h";
  return false;
}
std::string CudnnSdpa::version() const { return "none"; }
bool CudnnSdpa::prepare(const SdpaShape&, int64_t*, std::string* why) { return available(why); }
std::string CudnnSdpa::variant(const SdpaShape&) const { return "none"; }
void CudnnSdpa::run(const SdpaShape&, const void*, const void*, const void*, void*, void*, cudaStream_t) {
  SIXBIT_CHECK(false, "cuDNN SDPA: built without cudnn.h");
}

#endif

}  // namespace sixbit::cuda::dit
