// sixbit/reference/model/ops.hpp: the small op interface the Wan2.1 DiT driver (dit.cpp) is written over.
//
// The driver calls only these ops, so another backend (an emulated W8A8/W4A4/W4A8 one, a CUDA one) can replace
// chosen ops, and the harness can compare backends op by op. Linears carry a stable LayerId naming which Wan
// linear they are, so a quantization plan can pick them by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sixbit::model {

// Row-major [rows, cols] fp32 matrix: tokens are rows, features are columns.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<float> v;
  Mat() = default;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(size_t(r * c), 0.0f) {}
  float* row(int64_t r) { return v.data() + r * cols; }
  const float* row(int64_t r) const { return v.data() + r * cols; }
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

class DitOps {
 public:
  virtual ~DitOps() = default;
  // y[r, o] = bias[o] + sum_i x[r, i] * w[o, i]; w is [out, in] (PyTorch nn.Linear layout); bias may be null.
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
  // x = x * (1 + scale) + shift, scale and shift broadcast over rows (length cols).
  virtual void modulate(Mat& x, const float* shift, const float* scale) = 0;
  // x += y * gate (gate null: plain residual add); gate broadcast over rows.
  virtual void gated_add(Mat& x, const Mat& y, const float* gate) = 0;
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
  void modulate(Mat& x, const float* shift, const float* scale) override;
  void gated_add(Mat& x, const Mat& y, const float* gate) override;
};

}  // namespace sixbit::model
