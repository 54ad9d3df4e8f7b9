// sixbit/reference/model/ops.hpp: the small op interface the Wan2.1 DiT driver (dit.cpp) is written over.
//
// The driver calls only these ops, so another backend (an emulated W8A8/W4A4/W4A8 one, a CUDA one) can replace
// chosen ops, and the harness can compare backends op by op. Linears carry a stable LayerId naming which Wan
// linear they are, so a quantization plan can pick them by name.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sixbit::model {

// Row-major [rows, cols] fp32 matrix: tokens are rows, features are columns.
// Host backends (reference, emulator) keep the values in `v`. A device backend keeps them in storage of its own
// behind `dev` and leaves `v` empty, so for the driver a Mat is a handle: it never reads `v` of a Mat an op returned,
// it copies with DitOps::clone and crosses to/from the host only through DitOps::from_host / to_host.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<float> v;
  std::shared_ptr<void> dev;  // backend-owned storage (null for host tensors)
  Mat() = default;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(size_t(r * c), 0.0f) {}
  float* row(int64_t r) { return v.data() + r * cols; }
  const float* row(int64_t r) const { return v.data() + r * cols; }
};

// Sums over all elements of a and b (same shape), in fp64: what the predictor's input-output difference and the
// Temporal Delta Cache's change tests are made of. Relative L1 = l1_diff / l1_ref.
struct DiffNorms {
  double l1_diff = 0;  // sum |a - b|
  double l1_ref = 0;   // sum |b|
  double l2_diff = 0;  // sum (a - b)^2
  double l2_ref = 0;   // sum b^2
  double rel_l1() const { return l1_ref > 0 ? l1_diff / l1_ref : (l1_diff > 0 ? INFINITY : 0.0); }
};

// Which linear inside the model: block = -1 for the non-block linears (embeddings, head).
enum class LinearKind {
  self_q, self_k, self_v, self_o, cross_q, cross_k, cross_v, cross_o, ffn_0, ffn_2,
  text_0, text_2, time_0, time_2, time_projection, head, patch_embedding
};
struct LayerId {
  int block = -1;
  LinearKind kind = LinearKind::head;
  // The Wan2.1 module path, e.g. "blocks.3.self_attn.q" or "text_embedding.0".
  std::string name() const;
};

enum class LinearPrecision : uint8_t { kFull, kW8A8, kW4A4, kW4A8 };
std::string_view linear_precision_name(LinearPrecision p);
LinearPrecision linear_precision_from_name(std::string_view name);  // "full", "w8a8", "w4a4", "w4a8"

// Precision of each block linear (the data a predictor fills per block and step); entries not set take
// `block_default`. Non-block linears (embeddings, time MLP, head) are always full.
struct PrecisionPlan {
  LinearPrecision block_default = LinearPrecision::kFull;
  std::map<std::pair<int, LinearKind>, LinearPrecision> per_linear;
  LinearPrecision of(const LayerId& id) const;
  bool all_full() const;
  static PrecisionPlan uniform(LinearPrecision p) { return PrecisionPlan{p, {}}; }
};

class DitOps {
 public:
  virtual ~DitOps() = default;

  // The precision of each block linear from the next op on (the harness sets it between steps). A backend that runs
  // only full precision (ReferenceOps) refuses a plan that asks for anything else.
  virtual void set_plan(const PrecisionPlan& plan);

  // Tensors in and out of the backend. Host backends: identity / a copy.
  virtual Mat from_host(Mat host) { return host; }
  virtual Mat to_host(const Mat& x) { return x; }
  virtual Mat clone(const Mat& x) { return x; }

  // The kernels a GPU backend chose at run time (e.g. "attention cudnn-unified, W8A8 GEMM sm90-wgmma"), for the run's
  // timing.json and log: they depend on the machine, not on the inputs. Host backends: empty.
  virtual std::string kernels_in_use() const { return ""; }

  // y[r, o] = bias[o] + sum_i x[r, i] * w[o, i]; w is [out, in] (PyTorch nn.Linear layout); bias may be null.
  // Weights and the other `const float*` parameters below are host pointers to model weights, immutable for the
  // life of the model: a device backend may keep a device copy keyed by the address.
  virtual Mat linear(const Mat& x, const float* w, int64_t out, const float* bias, const LayerId& id) = 0;
  // Softmax(q k^T / sqrt(head_dim)) v per head; q [Sq, H*d], k and v [Sk, H*d]; full (unmasked) attention.
  virtual Mat attention(const Mat& q, const Mat& k, const Mat& v, int heads) = 0;
  // LayerNorm over each row (biased variance); weight/bias null for Wan's non-affine norms.
  virtual void layer_norm(Mat& x, const float* weight, const float* bias, float eps) = 0;
  // x * rsqrt(mean(x^2) + eps) * weight over each full row (WanRMSNorm).
  virtual void rms_norm(Mat& x, const float* weight, float eps) = 0;
  // Wan's 3D RoPE in place; rows are tokens in (f, h, w) order of a grid_f x grid_h x grid_w grid.
  virtual void rope(Mat& x, int heads, int grid_f, int grid_h, int grid_w) = 0;
  virtual void gelu_tanh(Mat& x) = 0;
  virtual void silu(Mat& x) = 0;
  // [1, n] = learned[i] + e[0, i % e.cols] in fp32: a block's `modulation + e0` (n = 6*dim = e.cols) or the head's
  // `modulation + e` (n = 2*dim, e broadcast over the two chunks).
  virtual Mat add_modulation(const float* learned, const Mat& e, int64_t n) = 0;
  // x = x * (1 + scale) + shift with shift = chunk `shift_chunk` and scale = chunk `scale_chunk` of `mod` (chunks of
  // x.cols values), broadcast over rows.
  virtual void modulate(Mat& x, const Mat& mod, int shift_chunk, int scale_chunk) = 0;
  // x += y * gate, gate = chunk `gate_chunk` of `mod` broadcast over rows; mod null: plain residual add x += y.
  virtual void gated_add(Mat& x, const Mat& y, const Mat* mod, int gate_chunk) = 0;
  // a - b (the residual a block adds, for the Temporal Delta Cache).
  virtual Mat sub(const Mat& a, const Mat& b) = 0;
  // The fp64 sums of DiffNorms; the order of summation is fixed by the backend and documented there.
  virtual DiffNorms diff_norms(const Mat& a, const Mat& b) = 0;
};

// fp32 reference, OpenMP over rows/heads only: every output element is reduced sequentially by one thread, so the
// bits do not depend on the thread count.
class ReferenceOps : public DitOps {
 public:
  Mat linear(const Mat& x, const float* w, int64_t out, const float* bias, const LayerId& id) override;
  Mat attention(const Mat& q, const Mat& k, const Mat& v, int heads) override;
  void layer_norm(Mat& x, const float* weight, const float* bias, float eps) override;
  void rms_norm(Mat& x, const float* weight, float eps) override;
  void rope(Mat& x, int heads, int grid_f, int grid_h, int grid_w) override;
  void gelu_tanh(Mat& x) override;
  void silu(Mat& x) override;
  Mat add_modulation(const float* learned, const Mat& e, int64_t n) override;
  void modulate(Mat& x, const Mat& mod, int shift_chunk, int scale_chunk) override;
  void gated_add(Mat& x, const Mat& y, const Mat* mod, int gate_chunk) override;
  Mat sub(const Mat& a, const Mat& b) override;
  // Per row in index order in fp64, then the row sums in row order: the same bits for any thread count.
  DiffNorms diff_norms(const Mat& a, const Mat& b) override;
};

}  // namespace sixbit::model
