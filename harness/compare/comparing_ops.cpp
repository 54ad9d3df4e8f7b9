// sixbit/harness/compare/comparing_ops.cpp: see comparing_ops.hpp.
#include "harness/compare/comparing_ops.hpp"

#include <cmath>
#include <cstring>

#include "common/check.hpp"

namespace sixbit::harness {

using model::Mat;

namespace {
template <typename T, typename Bits>
OpComparison compare_typed(const T* a, const T* b, int64_t n) {
  OpComparison c;
  c.rows = 1;
  c.cols = n;
  double diff2 = 0, ref2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    Bits ba, bb;
    std::memcpy(&ba, &a[i], sizeof ba);
    std::memcpy(&bb, &b[i], sizeof bb);
    if (ba == bb) {
      if (std::isfinite(double(a[i]))) ref2 += double(a[i]) * double(a[i]);
      continue;
    }
    if (c.first_index < 0) c.first_index = i, c.first_a = double(a[i]), c.first_b = double(b[i]);
    ++c.mismatches;
    if (!std::isfinite(double(a[i])) || !std::isfinite(double(b[i]))) {
      ++c.non_finite;
      continue;
    }
    const double d = double(a[i]) - double(b[i]);
    c.max_abs = std::max(c.max_abs, std::fabs(d));
    diff2 += d * d;
    ref2 += double(a[i]) * double(a[i]);
  }
  c.rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : (diff2 > 0 ? INFINITY : 0.0);
  return c;
}
}  // namespace

OpComparison compare_values(const float* a, const float* b, int64_t n) { return compare_typed<float, uint32_t>(a, b, n); }

Mat ComparingOps::to_b(const Mat& x) { return b_.from_host(a_.to_host(x)); }

void ComparingOps::record(const char* op, const std::string& layer, const Mat& ra, const Mat& rb) {
  const Mat ha = a_.to_host(ra), hb = b_.to_host(rb);
  SIXBIT_CHECK(ha.rows == hb.rows && ha.cols == hb.cols, "compare: ", op, " returned [", ha.rows, ",", ha.cols,
               "] on A but [", hb.rows, ",", hb.cols, "] on B");
  OpComparison c = compare_values(ha.v.data(), hb.v.data(), ha.rows * ha.cols);
  c.op = op;
  c.layer = layer;
  c.step = step_;
  c.block = block_;
  c.cond = cond_;
  c.rows = ha.rows;
  c.cols = ha.cols;
  records_.push_back(std::move(c));
}

void ComparingOps::set_plan(const model::PrecisionPlan& plan) {
  a_.set_plan(plan);
  b_.set_plan(plan);
}

Mat ComparingOps::linear(const Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id) {
  Mat ra = a_.linear(x, w, out, bias, id);
  Mat rb = b_.linear(to_b(x), w, out, bias, id);
  record("linear", id.name(), ra, rb);
  return ra;
}

Mat ComparingOps::attention(const Mat& q, const Mat& k, const Mat& v, int heads) {
  Mat ra = a_.attention(q, k, v, heads);
  Mat rb = b_.attention(to_b(q), to_b(k), to_b(v), heads);
  record("attention", "", ra, rb);
  return ra;
}

// In-place ops: B gets A's input as it was before A changed it.
#define SIXBIT_COMPARE_IN_PLACE(name, ...)   \
  Mat xb = to_b(x);                          \
  a_.name(x __VA_OPT__(, ) __VA_ARGS__);     \
  b_.name(xb __VA_OPT__(, ) __VA_ARGS__);    \
  record(#name, "", x, xb)

void ComparingOps::layer_norm(Mat& x, const float* weight, const float* bias, float eps) {
  SIXBIT_COMPARE_IN_PLACE(layer_norm, weight, bias, eps);
}
void ComparingOps::rms_norm(Mat& x, const float* weight, float eps) { SIXBIT_COMPARE_IN_PLACE(rms_norm, weight, eps); }
void ComparingOps::rope(Mat& x, int heads, int gf, int gh, int gw) { SIXBIT_COMPARE_IN_PLACE(rope, heads, gf, gh, gw); }
void ComparingOps::gelu_tanh(Mat& x) { SIXBIT_COMPARE_IN_PLACE(gelu_tanh); }
void ComparingOps::silu(Mat& x) { SIXBIT_COMPARE_IN_PLACE(silu); }

Mat ComparingOps::add_modulation(const float* learned, const Mat& e, int64_t n) {
  Mat ra = a_.add_modulation(learned, e, n);
  Mat rb = b_.add_modulation(learned, to_b(e), n);
  record("add_modulation", "", ra, rb);
  return ra;
}

void ComparingOps::modulate(Mat& x, const Mat& mod, int shift_chunk, int scale_chunk) {
  const Mat mb = to_b(mod);
  Mat xb = to_b(x);
  a_.modulate(x, mod, shift_chunk, scale_chunk);
  b_.modulate(xb, mb, shift_chunk, scale_chunk);
  record("modulate", "", x, xb);
}

void ComparingOps::gated_add(Mat& x, const Mat& y, const Mat* mod, int gate_chunk) {
  const Mat yb = to_b(y);
  Mat mb;
  if (mod) mb = to_b(*mod);
  Mat xb = to_b(x);
  a_.gated_add(x, y, mod, gate_chunk);
  b_.gated_add(xb, yb, mod ? &mb : nullptr, gate_chunk);
  record("gated_add", "", x, xb);
}

Mat ComparingOps::sub(const Mat& a, const Mat& b) {
  Mat ra = a_.sub(a, b);
  Mat rb = b_.sub(to_b(a), to_b(b));
  record("sub", "", ra, rb);
  return ra;
}

model::DiffNorms ComparingOps::diff_norms(const Mat& a, const Mat& b) {
  const model::DiffNorms na = a_.diff_norms(a, b), nb = b_.diff_norms(to_b(a), to_b(b));
  const double va[4] = {na.l1_diff, na.l1_ref, na.l2_diff, na.l2_ref}, vb[4] = {nb.l1_diff, nb.l1_ref, nb.l2_diff, nb.l2_ref};
  OpComparison c = compare_typed<double, uint64_t>(va, vb, 4);
  c.op = "diff_norms";
  c.step = step_;
  c.block = block_;
  c.cond = cond_;
  records_.push_back(std::move(c));
  return na;
}

}  // namespace sixbit::harness
