// The fast fp32 linear and attention (reference/model/fp32_kernels.hpp) against one-output-at-a-time scalar
// transcriptions of their documented order, bit for bit, on odd shapes that hit every tail (rows not a multiple of
// the register tile, outputs not a multiple of the panel, reductions longer than the cache chunk); thread-count
// independence; the accuracy of exp_nonpositive against fp64 exp. .ci/run also runs this on the portable
// (-march=x86-64) build, so the AVX-512 and SSE2 builds both equal the same definition.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "reference/model/fp32_kernels.hpp"
#include "reference/model/weights.hpp"

namespace sm = sixbit::model;

namespace {

sm::Mat random_mat(int64_t rows, int64_t cols, uint64_t seed, float scale = 1.0f) {
  sm::Mat m(rows, cols);
  m.v = sm::gaussian_normals(seed, rows * cols);
  for (float& x : m.v) x *= scale;
  // a few exact zeros, negative zeros and large values, so signed-zero and magnitude handling is exercised
  for (size_t i = 0; i < m.v.size(); i += 37) m.v[i] = (i / 37) % 3 == 0 ? 0.0f : (i / 37) % 3 == 1 ? -0.0f : 1e4f;
  return m;
}

// The definition (docs/dit.md, "Reference order"): one sequential fp32 sum per output from +0.
sm::Mat linear_definition(const sm::Mat& x, const float* w, int64_t out, const float* bias) {
  sm::Mat y(x.rows, out);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      float acc = 0.0f;
      for (int64_t i = 0; i < x.cols; ++i) acc += x.row(r)[i] * w[o * x.cols + i];
      y.row(r)[o] = bias ? acc + bias[o] : acc;
    }
  return y;
}

sm::Mat attention_definition(const sm::Mat& q, const sm::Mat& k, const sm::Mat& v, int heads) {
  const int64_t d = q.cols / heads;
  const float scale = 1.0f / std::sqrt(float(d));
  sm::Mat o(q.rows, q.cols);
  std::vector<float> s(size_t(k.rows));
  for (int h = 0; h < heads; ++h)
    for (int64_t i = 0; i < q.rows; ++i) {
      float mx = -INFINITY;
      for (int64_t j = 0; j < k.rows; ++j) {
        float acc = 0.0f;
        for (int64_t c = 0; c < d; ++c) acc += q.row(i)[h * d + c] * k.row(j)[h * d + c];
        s[size_t(j)] = acc * scale;
        mx = std::max(mx, s[size_t(j)]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < k.rows; ++j) {
        s[size_t(j)] = sm::exp_nonpositive(s[size_t(j)] - mx);
        sum += s[size_t(j)];
      }
      for (int64_t j = 0; j < k.rows; ++j) {
        const float p = s[size_t(j)] / sum;
        for (int64_t c = 0; c < d; ++c) o.row(i)[h * d + c] += p * v.row(j)[h * d + c];
      }
    }
  return o;
}

size_t bit_mismatches(const sm::Mat& a, const sm::Mat& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  size_t n = 0;
  for (size_t i = 0; i < a.v.size() && i < b.v.size(); ++i) n += std::memcmp(&a.v[i], &b.v[i], 4) != 0;
  return n;
}

}  // namespace

TEST(Fp32Kernels, LinearEqualsDefinitionBitForBit) {
  int cases = 0;
  for (int64_t rows : {1, 3, 8, 9, 63, 65, 130})
    for (int64_t in : {1, 5, 16, 31, 128, 1100})
      for (int64_t out : {1, 7, 32, 33, 70}) {
        const sm::Mat x = random_mat(rows, in, uint64_t(rows * 131 + in * 7 + out));
        const sm::Mat w = random_mat(out, in, uint64_t(out * 17 + in), 1.0f / std::sqrt(float(in)));
        const sm::Mat b = random_mat(1, out, uint64_t(out), 0.1f);
        for (const float* bias : {static_cast<const float*>(nullptr), b.v.data()}) {
          const sm::Mat got = sm::fp32_linear(x, w.v.data(), out, bias);
          ASSERT_EQ(bit_mismatches(got, linear_definition(x, w.v.data(), out, bias)), 0u)
              << rows << "x" << in << " -> " << out << (bias ? " with bias" : "");
          ++cases;
        }
      }
  EXPECT_EQ(cases, 7 * 6 * 5 * 2);
}

TEST(Fp32Kernels, AttentionEqualsDefinitionBitForBit) {
  for (int heads : {1, 2, 3})
    for (int64_t d : {6, 8, 32, 40, 64})
      for (int64_t sq : {1, 5, 17})
        for (int64_t sk : {1, 3, 33, 70}) {
          const uint64_t seed = uint64_t(heads * 1000 + d * 100 + sq * 10 + sk);
          const sm::Mat q = random_mat(sq, heads * d, seed, 0.5f), k = random_mat(sk, heads * d, seed + 1, 0.5f);
          const sm::Mat v = random_mat(sk, heads * d, seed + 2);
          ASSERT_EQ(bit_mismatches(sm::fp32_attention(q, k, v, heads), attention_definition(q, k, v, heads)), 0u)
              << "heads " << heads << " d " << d << " sq " << sq << " sk " << sk;
        }
}

TEST(Fp32Kernels, ThreadCountDoesNotChangeBits) {
  const sm::Mat x = random_mat(300, 200, 1), w = random_mat(150, 200, 2, 0.07f), bias = random_mat(1, 150, 3);
  const sm::Mat q = random_mat(257, 128, 4, 0.3f), k = random_mat(190, 128, 5, 0.3f), v = random_mat(190, 128, 6);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const sm::Mat y1 = sm::fp32_linear(x, w.v.data(), 150, bias.v.data()), a1 = sm::fp32_attention(q, k, v, 4);
  for (int t : {2, 3, 5}) {
    omp_set_num_threads(t);
    EXPECT_EQ(bit_mismatches(sm::fp32_linear(x, w.v.data(), 150, bias.v.data()), y1), 0u) << t << " threads";
    EXPECT_EQ(bit_mismatches(sm::fp32_attention(q, k, v, 4), a1), 0u) << t << " threads";
  }
  omp_set_num_threads(saved);
}

TEST(Fp32Kernels, BadShapesAreRefused) {
  const sm::Mat q(4, 12), k(0, 12), k2(3, 10), v(3, 12);
  EXPECT_THROW(sm::fp32_attention(q, k, k, 3), sixbit::Error);  // no keys
  EXPECT_THROW(sm::fp32_attention(q, k2, v, 2), sixbit::Error);
  EXPECT_THROW(sm::fp32_attention(q, v, v, 5), sixbit::Error);  // heads do not divide 12
  EXPECT_THROW(sm::fp32_attention(q, v, v, 0), sixbit::Error);
}

// Accuracy of exp_nonpositive on every 61st fp32 value in [-87.33, 0] (18.4 M inputs), against fp64 exp rounded
// to fp32: Cephes documents 7.6e-8 peak relative error for its expf (under 1 ulp = 1.19e-7 at the top of the
// binade); we accept <= 2 ulp and require the mean to be well under 1 ulp. Edge values exactly.
TEST(Fp32Kernels, ExpNonpositiveIsAccurate) {
  uint32_t lo;
  const float lim = -87.33f;
  std::memcpy(&lo, &lim, 4);
  double max_ulp = 0, sum_ulp = 0;
  int64_t n = 0, exact = 0;
  for (uint32_t u = 0x80000000u; u <= lo; u += 61) {
    float x;
    std::memcpy(&x, &u, 4);
    const double ref = std::exp(double(x));
    const float got = sm::exp_nonpositive(x);
    const double ulp = std::ldexp(1.0, std::ilogb(float(ref)) - 23);
    const double e = std::fabs(double(got) - ref) / ulp;
    max_ulp = std::max(max_ulp, e);
    sum_ulp += e;
    exact += got == float(ref);
    ++n;
  }
  std::printf("  %lld inputs: max %.3f ulp, mean %.3f ulp, %.1f%% correctly rounded\n", static_cast<long long>(n),
              max_ulp, sum_ulp / double(n), 100.0 * double(exact) / double(n));
  EXPECT_GT(n, 10000000);
  EXPECT_LE(max_ulp, 2.0);
  EXPECT_LT(sum_ulp / double(n), 0.5);
  EXPECT_EQ(sm::exp_nonpositive(0.0f), 1.0f);
  EXPECT_EQ(sm::exp_nonpositive(-0.0f), 1.0f);
  EXPECT_EQ(sm::exp_nonpositive(-87.34f), 0.0f);
  EXPECT_EQ(sm::exp_nonpositive(-INFINITY), 0.0f);
  EXPECT_EQ(sm::exp_nonpositive(-1e30f), 0.0f);
  EXPECT_TRUE(std::isnan(sm::exp_nonpositive(NAN)));
  EXPECT_GT(sm::exp_nonpositive(-87.33f), 0.0f);
}
