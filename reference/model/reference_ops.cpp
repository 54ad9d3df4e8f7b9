// sixbit/reference/model/reference_ops.cpp: fp32 reference implementation of DitOps.
#include <cmath>
#include <vector>

#include "common/check.hpp"
#include "reference/model/fp32_kernels.hpp"
#include "reference/model/ops.hpp"

namespace sixbit::model {

// Below this many multiply-adds an op runs on one thread: a parallel region costs more than it saves, and under a
// loaded machine spinning OpenMP workers make tiny ops orders of magnitude slower. Results do not depend on it.
constexpr int64_t kParallelWork = int64_t(1) << 16;

std::string LayerId::name() const {
  static const char* names[] = {"self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q",
                                "cross_attn.k", "cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2",
                                "text_embedding.0", "text_embedding.2", "time_embedding.0", "time_embedding.2",
                                "time_projection.1", "head.head", "patch_embedding"};
  const std::string n = names[int(kind)];
  return block >= 0 ? "blocks." + std::to_string(block) + "." + n : n;
}

std::string_view linear_precision_name(LinearPrecision p) {
  switch (p) {
    case LinearPrecision::kW8A8: return "w8a8";
    case LinearPrecision::kW4A4: return "w4a4";
    case LinearPrecision::kW4A8: return "w4a8";
    default: return "full";
  }
}

LinearPrecision linear_precision_from_name(std::string_view name) {
  for (auto p : {LinearPrecision::kFull, LinearPrecision::kW8A8, LinearPrecision::kW4A4, LinearPrecision::kW4A8})
    if (name == linear_precision_name(p)) return p;
  SIXBIT_CHECK(false, "unknown linear precision '", name, "' (expected full, w8a8, w4a4 or w4a8)");
  return LinearPrecision::kFull;
}

LinearPrecision PrecisionPlan::of(const LayerId& id) const {
  if (id.block < 0) return LinearPrecision::kFull;  // embeddings, time MLP, head: outside the blocks
  const auto it = per_linear.find({id.block, id.kind});
  return it == per_linear.end() ? block_default : it->second;
}

bool PrecisionPlan::all_full() const {
  if (block_default != LinearPrecision::kFull) return false;
  for (const auto& [key, p] : per_linear)
    if (p != LinearPrecision::kFull) return false;
  return true;
}

void DitOps::set_plan(const PrecisionPlan& plan) {
  SIXBIT_CHECK(plan.all_full(), "this backend runs full precision only; it cannot take a quantized plan");
}

// Linear and attention: the fast kernels of fp32_kernels.cpp, whose arithmetic order (one sequential fp32 sum per
// output, vectorized across outputs) is documented there and in docs/dit.md ("Reference order").
Mat ReferenceOps::linear(const Mat& x, const float* w, int64_t out, const float* bias, const LayerId&) {
  return fp32_linear(x, w, out, bias);
}

Mat ReferenceOps::attention(const Mat& q, const Mat& k, const Mat& v, int heads) {
  return fp32_attention(q, k, v, heads);
}

void ReferenceOps::layer_norm(Mat& x, const float* weight, const float* bias, float eps) {
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t r = 0; r < x.rows; ++r) {
    float* xr = x.row(r);
    double mean = 0.0, var = 0.0;  // fp64 statistics: the row's mean/variance are then correctly rounded-ish
    for (int64_t c = 0; c < x.cols; ++c) mean += xr[c];
    mean /= double(x.cols);
    for (int64_t c = 0; c < x.cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= double(x.cols);
    const float m = float(mean), inv = float(1.0 / std::sqrt(var + double(eps)));
    for (int64_t c = 0; c < x.cols; ++c) {
      float y = (xr[c] - m) * inv;
      if (weight) y = y * weight[c] + (bias ? bias[c] : 0.0f);
      xr[c] = y;
    }
  }
}

void ReferenceOps::rms_norm(Mat& x, const float* weight, float eps) {
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t r = 0; r < x.rows; ++r) {
    float* xr = x.row(r);
    double ss = 0.0;
    for (int64_t c = 0; c < x.cols; ++c) ss += double(xr[c]) * xr[c];
    const float inv = float(1.0 / std::sqrt(ss / double(x.cols) + double(eps)));
    for (int64_t c = 0; c < x.cols; ++c) xr[c] = xr[c] * inv * weight[c];
  }
}

// Wan2.1 wan/modules/model.py rope_params/rope_apply: head_dim d has c = d/2 complex (adjacent) pairs; the first
// c - 2*(c/3) pairs rotate with the frame index, the next c/3 with the row, the last c/3 with the column. A part of
// 2m real dims uses angle pos / 10000^(2j / (2m)) for pair j, all in fp64, and the product is rounded to fp32.
void ReferenceOps::rope(Mat& x, int heads, int grid_f, int grid_h, int grid_w) {
  SIXBIT_CHECK(x.rows == int64_t(grid_f) * grid_h * grid_w && x.cols % heads == 0, "rope: shape mismatch");
  const int64_t d = x.cols / heads, c = d / 2;
  const int64_t parts[3] = {c - 2 * (c / 3), c / 3, c / 3};
  std::vector<double> inv_freq(static_cast<size_t>(c));
  std::vector<int> axis(static_cast<size_t>(c));
  for (int64_t p = 0, j0 = 0; p < 3; j0 += parts[p], ++p)
    for (int64_t j = 0; j < parts[p]; ++j) {
      inv_freq[j0 + j] = 1.0 / std::pow(10000.0, double(2 * j) / double(2 * parts[p]));
      axis[j0 + j] = int(p);
    }
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t r = 0; r < x.rows; ++r) {
    const int64_t pos[3] = {r / (int64_t(grid_h) * grid_w), (r / grid_w) % grid_h, r % grid_w};
    float* xr = x.row(r);
    for (int64_t j = 0; j < c; ++j) {
      const double ang = double(pos[axis[j]]) * inv_freq[j];
      const double cs = std::cos(ang), sn = std::sin(ang);
      for (int h = 0; h < heads; ++h) {
        float* p = xr + h * d + 2 * j;
        const double a = p[0], b = p[1];
        p[0] = float(a * cs - b * sn);
        p[1] = float(a * sn + b * cs);
      }
    }
  }
}

void ReferenceOps::gelu_tanh(Mat& x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi), PyTorch's GELU(approximate='tanh')
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t i = 0; i < int64_t(x.v.size()); ++i) {
    const float a = x.v[i];
    x.v[i] = 0.5f * a * (1.0f + std::tanh(k * (a + 0.044715f * a * a * a)));
  }
}

void ReferenceOps::silu(Mat& x) {
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t i = 0; i < int64_t(x.v.size()); ++i) x.v[i] = x.v[i] / (1.0f + std::exp(-x.v[i]));
}

Mat ReferenceOps::add_modulation(const float* learned, const Mat& e, int64_t n) {
  SIXBIT_CHECK(e.rows == 1 && e.cols > 0 && n % e.cols == 0, "add_modulation: e is [", e.rows, ",", e.cols,
               "], cannot broadcast to ", n);
  Mat m(1, n);
  for (int64_t i = 0; i < n; ++i) m.v[size_t(i)] = learned[i] + e.v[size_t(i % e.cols)];
  return m;
}

namespace {
// Chunk `c` (x_cols values) of a modulation vector [1, k * x_cols].
const float* mod_chunk(const Mat& mod, int c, int64_t x_cols) {
  SIXBIT_CHECK(mod.rows == 1 && c >= 0 && (int64_t(c) + 1) * x_cols <= mod.cols, "modulation chunk ", c, " of width ",
               x_cols, " is outside a modulation vector of ", mod.cols);
  return mod.v.data() + int64_t(c) * x_cols;
}
}  // namespace

void ReferenceOps::modulate(Mat& x, const Mat& mod, int shift_chunk, int scale_chunk) {
  const float* shift = mod_chunk(mod, shift_chunk, x.cols);
  const float* scale = mod_chunk(mod, scale_chunk, x.cols);
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t r = 0; r < x.rows; ++r) {
    float* xr = x.row(r);
    for (int64_t c = 0; c < x.cols; ++c) xr[c] = xr[c] * (1.0f + scale[c]) + shift[c];
  }
}

void ReferenceOps::gated_add(Mat& x, const Mat& y, const Mat* mod, int gate_chunk) {
  SIXBIT_CHECK(x.rows == y.rows && x.cols == y.cols, "gated_add: shape mismatch");
  const float* gate = mod ? mod_chunk(*mod, gate_chunk, x.cols) : nullptr;
#pragma omp parallel for schedule(static) if (int64_t(x.v.size()) > kParallelWork)
  for (int64_t r = 0; r < x.rows; ++r) {
    float* xr = x.row(r);
    const float* yr = y.row(r);
    for (int64_t c = 0; c < x.cols; ++c) xr[c] += gate ? yr[c] * gate[c] : yr[c];
  }
}

Mat ReferenceOps::sub(const Mat& a, const Mat& b) {
  SIXBIT_CHECK(a.rows == b.rows && a.cols == b.cols, "sub: shape mismatch [", a.rows, ",", a.cols, "] vs [", b.rows,
               ",", b.cols, "]");
  Mat d(a.rows, a.cols);
  for (size_t i = 0; i < a.v.size(); ++i) d.v[i] = a.v[i] - b.v[i];
  return d;
}

DiffNorms ReferenceOps::diff_norms(const Mat& a, const Mat& b) {
  SIXBIT_CHECK(a.rows == b.rows && a.cols == b.cols, "diff_norms: shape mismatch [", a.rows, ",", a.cols, "] vs [",
               b.rows, ",", b.cols, "]");
  std::vector<DiffNorms> rows(static_cast<size_t>(a.rows));
#pragma omp parallel for schedule(static) if (int64_t(a.v.size()) > kParallelWork)
  for (int64_t r = 0; r < a.rows; ++r) {
    DiffNorms s;
    const float* ar = a.row(r);
    const float* br = b.row(r);
    for (int64_t c = 0; c < a.cols; ++c) {
      const double d = double(ar[c]) - double(br[c]), ref = br[c];
      s.l1_diff += std::fabs(d);
      s.l1_ref += std::fabs(ref);
      s.l2_diff += d * d;
      s.l2_ref += ref * ref;
    }
    rows[size_t(r)] = s;
  }
  DiffNorms total;
  for (const DiffNorms& s : rows) {
    total.l1_diff += s.l1_diff;
    total.l1_ref += s.l1_ref;
    total.l2_diff += s.l2_diff;
    total.l2_ref += s.l2_ref;
  }
  return total;
}

}  // namespace sixbit::model
