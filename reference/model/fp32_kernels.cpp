// sixbit/reference/model/fp32_kernels.cpp: see fp32_kernels.hpp.
//
// Vectors are GCC/Clang vector extensions: element-wise IEEE operations that the compiler maps onto AVX-512,
// AVX2 or SSE2 registers. Nothing here ever adds two lanes of one vector together, which is what keeps every
// output's reduction order independent of the vector width.
#include "reference/model/fp32_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/check.hpp"
#include "reference/model/exp_nonpositive.hpp"

namespace sixbit::model {

namespace {

// Vector width and register tile (kMR rows x kVecs vectors of outputs) per ISA; none of them changes a bit, only
// the speed. Measured on the 2-core Zen 4 dev box (one thread, [1024 x 128] x [128 x 512] and 1536 x 1536): 8-lane
// (ymm) vectors with 6 x 4 accumulators ~90 GFLOP/s, against ~70 for every 16-lane (zmm) tile tried.
#if defined(__AVX512F__) && defined(__AVX512VL__)
constexpr int kLanes = 8, kVecs = 4, kMR = 6;  // 24 accumulators of the 32 ymm registers
#elif defined(__AVX__)
constexpr int kLanes = 8, kVecs = 2, kMR = 6;  // 12 of 16 ymm registers
#else
constexpr int kLanes = 4, kVecs = 2, kMR = 6;  // SSE2: 12 of 16 xmm registers
#endif
typedef float vf __attribute__((vector_size(kLanes * 4)));
typedef int32_t vi __attribute__((vector_size(kLanes * 4)));
constexpr int kNR = kVecs * kLanes;
// Cache tile: kMC rows share a packed weight panel; the reduction is walked in chunks of kKC (partial sums stay in
// the tile's fp32 accumulator buffer between chunks, which does not change any rounding).
constexpr int64_t kMC = 10 * kMR;
constexpr int64_t kKC = 1024;
// Below this many multiply-adds (~20 us of work) an op runs on one thread: a parallel region costs microseconds on
// a quiet machine and milliseconds when the cores are oversubscribed (ctest -j2 with two-thread tests: a worker
// that is descheduled holds the barrier for a time slice). Bits do not depend on it.
constexpr int64_t kParallelWork = int64_t(1) << 20;

inline vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof(v)); }

// panel[i * kNR + l] = b[(r0 + l) * ldb + i] for i < k, or 0 where r0 + l >= n: kNR rows of B [n, k], transposed.
void pack_rows(const float* b, int64_t ldb, int64_t n, int64_t k, int64_t r0, float* panel) {
  for (int l = 0; l < kNR; ++l) {
    const bool valid = r0 + l < n;
    const float* src = b + (r0 + l) * ldb;
    for (int64_t i = 0; i < k; ++i) panel[i * kNR + l] = valid ? src[i] : 0.0f;
  }
}

// panel[j * kNR + l] = b[j * ldb + l] for l < cols (<= kNR), else 0: kNR columns of B [n, .], as they are.
void pack_cols(const float* b, int64_t ldb, int64_t n, int64_t cols, float* panel) {
  for (int64_t j = 0; j < n; ++j)
    for (int l = 0; l < kNR; ++l) panel[j * kNR + l] = l < cols ? b[j * ldb + l] : 0.0f;
}

// acc[m * kNR + l] += a[m * lda + i] * panel[i * kNR + l] for i = 0, 1, ..., k - 1 in order (each product and
// each sum rounded to fp32): MR rows of A times a panel, one sequential sum per (m, l).
template <int MR>
void micro(const float* a, int64_t lda, const float* panel, int64_t k, float* acc) {
  vf c[MR][kVecs];
  for (int m = 0; m < MR; ++m)
    for (int u = 0; u < kVecs; ++u) c[m][u] = vload(acc + m * kNR + u * kLanes);
  for (int64_t i = 0; i < k; ++i) {
    vf w[kVecs];
    for (int u = 0; u < kVecs; ++u) w[u] = vload(panel + i * kNR + u * kLanes);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const float x = a[m * lda + i];
#pragma GCC unroll 4
      for (int u = 0; u < kVecs; ++u) c[m][u] = c[m][u] + x * w[u];
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int u = 0; u < kVecs; ++u) vstore(acc + m * kNR + u * kLanes, c[m][u]);
}

// micro<mr> for a runtime row count mr in 1..MR (MR = kMR at the call).
template <int MR = kMR>
void micro_rows(int mr, const float* a, int64_t lda, const float* panel, int64_t k, float* acc) {
  if constexpr (MR > 0) {
    if (mr == MR) return micro<MR>(a, lda, panel, k, acc);
    return micro_rows<MR - 1>(mr, a, lda, panel, k, acc);
  }
  SIXBIT_CHECK(false, "micro kernel: bad row count ", mr);
}

// acc[r * kNR + l] = sum_i a[r * lda + i] * panel[i * kNR + l] (from +0, i ascending) for r < rows.
void panel_product(const float* a, int64_t lda, int64_t rows, const float* panel, int64_t k, float* acc) {
  std::fill(acc, acc + rows * kNR, 0.0f);
  for (int64_t k0 = 0; k0 < k; k0 += kKC) {
    const int64_t kc = std::min(kKC, k - k0);
    for (int64_t r = 0; r < rows; r += kMR)
      micro_rows(int(std::min<int64_t>(kMR, rows - r)), a + r * lda + k0, lda, panel + k0 * kNR, kc, acc + r * kNR);
  }
}

// out[m] = ((0 + a[m][0]) + a[m][1]) + ... + a[m][n - 1] for m < MR: MR sequential sums run side by side (in
// registers, so each add waits only for its own row's previous add).
template <int MR>
void row_sums_t(const float* a, int64_t lda, int64_t n, float* out) {
  float acc[MR] = {};
  for (int64_t j = 0; j < n; ++j)
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) acc[m] += a[m * lda + j];
  for (int m = 0; m < MR; ++m) out[m] = acc[m];
}

template <int MR = kMR>
void row_sums(int mr, const float* a, int64_t lda, int64_t n, float* out) {
  if constexpr (MR > 0) {
    if (mr == MR) return row_sums_t<MR>(a, lda, n, out);
    return row_sums<MR - 1>(mr, a, lda, n, out);
  }
  SIXBIT_CHECK(false, "row sums: bad row count ", mr);
}

// Packing buffers, reused across calls by the calling thread (they are rewritten in full before any read): a fresh
// allocation per call is an mmap and a page fault per 4 KB (83 M minor faults, 210 s of system time, in a 50-step
// 1.3B run before this). Slot 0 linear weights, 1 and 2 attention K and V.
float* scratch(int slot, size_t n) {
  thread_local std::vector<float> buf[3];
  if (buf[slot].size() < n) buf[slot].resize(n);
  return buf[slot].data();
}

const vf kZero = vf{};

// The vector lanes of model::exp_nonpositive_scalar (reference/model/exp_nonpositive.hpp): the same steps, shared.
vf exp_nonpositive_v(vf x) {
  using namespace cephes_exp;
  const vf magic = kZero + kMagic;
  const vf t = x * kLog2e;
  const vf big = t + magic;
  const vf n = big - magic;
  const vi ni = (vi)big - (vi)magic;  // the integer n, from the low mantissa bits
  const vi e = (ni + 127) << 23;      // 2^n, n in [-126, 0] for x in [-87.33654, 0]
  const vf res = poly_of_reduced(x, n) * (vf)e;
  return x < kZero + kUnderflow ? kZero : res;
}

}  // namespace

float exp_nonpositive(float x) {
  vf v = kZero;
  v[0] = x;
  return exp_nonpositive_v(v)[0];
}

Mat fp32_linear(const Mat& x, const float* w, int64_t out, const float* bias) {
  SIXBIT_CHECK(out >= 0 && x.rows >= 0 && x.cols >= 0, "linear: bad shape [", x.rows, ",", x.cols, "] -> ", out);
  Mat y(x.rows, out);
  const int64_t in = x.cols, rows = x.rows, panels = (out + kNR - 1) / kNR, blocks = (rows + kMC - 1) / kMC;
  if (rows == 0 || out == 0) return y;
  const bool parallel = rows * out * in > kParallelWork;
  float* const packed = scratch(0, size_t(panels * std::max<int64_t>(in, 1) * kNR));
#pragma omp parallel for schedule(static) if (parallel && panels > 1)
  for (int64_t p = 0; p < panels; ++p) pack_rows(w, in, out, in, p * kNR, packed + p * in * kNR);
  // Dynamic: with other processes on the cores a static split waits for the descheduled thread (measured: half
  // the main thread's time in libgomp's barrier during a loaded 1.3B run). Any split gives the same bits.
#pragma omp parallel for collapse(2) schedule(dynamic) if (parallel)
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t b = 0; b < blocks; ++b) {
      float acc[kMC * kNR];
      const int64_t r0 = b * kMC, nr = std::min(kMC, rows - r0), o0 = p * kNR, no = std::min<int64_t>(kNR, out - o0);
      panel_product(x.v.data() + r0 * in, in, nr, packed + p * in * kNR, in, acc);
      for (int64_t r = 0; r < nr; ++r) {
        float* yr = y.row(r0 + r) + o0;
        for (int64_t l = 0; l < no; ++l) yr[l] = bias ? acc[r * kNR + l] + bias[o0 + l] : acc[r * kNR + l];
      }
    }
  }
  return y;
}

Mat fp32_attention(const Mat& q, const Mat& k, const Mat& v, int heads) {
  SIXBIT_CHECK(heads > 0 && q.cols == k.cols && k.cols == v.cols && k.rows == v.rows && q.cols % heads == 0 &&
                   k.rows > 0,
               "attention: shape mismatch q [", q.rows, ",", q.cols, "] k [", k.rows, ",", k.cols, "] v [", v.rows,
               ",", v.cols, "] heads ", heads);
  const int64_t d = q.cols / heads, sq = q.rows, sk = k.rows, cols = q.cols;
  const int64_t kpanels = (sk + kNR - 1) / kNR, skpad = kpanels * kNR, dpanels = (d + kNR - 1) / kNR;
  const float scale = 1.0f / std::sqrt(float(d));
  Mat o(sq, cols);
  if (sq == 0) return o;
  const bool parallel = sq * sk * cols > kParallelWork;
  // Per head: K as panels of kNR keys [d][kNR] (q.k reduces over d), V as panels of kNR head dims [sk][kNR].
  float* const kp = scratch(1, size_t(heads * kpanels * d * kNR));
  float* const vp = scratch(2, size_t(heads * dpanels * sk * kNR));
#pragma omp parallel for schedule(static) if (parallel)
  for (int h = 0; h < heads; ++h) {
    for (int64_t p = 0; p < kpanels; ++p)
      pack_rows(k.v.data() + h * d, cols, sk, d, p * kNR, kp + (h * kpanels + p) * d * kNR);
    for (int64_t p = 0; p < dpanels; ++p)
      pack_cols(v.v.data() + h * d + p * kNR, cols, sk, std::min<int64_t>(kNR, d - p * kNR),
                vp + (h * dpanels + p) * sk * kNR);
  }
  const int64_t blocks = (sq + kMR - 1) / kMR;
#pragma omp parallel if (parallel)
  {
    std::vector<float> s(size_t(kMR * skpad)), acc(size_t(kMR * kNR));
#pragma omp for collapse(2) schedule(dynamic)
    for (int h = 0; h < heads; ++h) {
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t i0 = b * kMR, mr = std::min<int64_t>(kMR, sq - i0);
        // Scores: s[m][j] = (q_{i0+m} . k_j) * scale; the padding keys j >= sk get -inf (weight exactly 0).
        for (int64_t p = 0; p < kpanels; ++p) {
          std::fill(acc.begin(), acc.end(), 0.0f);
          micro_rows(int(mr), q.v.data() + i0 * cols + h * d, cols, kp + (h * kpanels + p) * d * kNR, d,
                     acc.data());
          for (int64_t m = 0; m < mr; ++m)
            for (int l = 0; l < kNR; l += kLanes)
              vstore(s.data() + m * skpad + p * kNR + l, vload(acc.data() + m * kNR + l) * scale);
        }
        for (int64_t m = 0; m < mr; ++m) std::fill(s.data() + m * skpad + sk, s.data() + (m + 1) * skpad, -INFINITY);
        // Softmax per row: the max is exact in any order (lanes, then across lanes); e_j = exp(s_j - max); the
        // sum is sequential in j for each row (the rows' sums interleaved, which does not change any of them).
        float mx[kMR], sum[kMR];
        for (int64_t m = 0; m < mr; ++m) {
          vf vm = kZero - INFINITY;
          for (int64_t j = 0; j < skpad; j += kLanes) {
            const vf x = vload(s.data() + m * skpad + j);
            vm = vm < x ? x : vm;
          }
          mx[m] = -INFINITY;
          for (int l = 0; l < kLanes; ++l) mx[m] = std::max(mx[m], vm[l]);
          for (int64_t j = 0; j < skpad; j += kLanes)
            vstore(s.data() + m * skpad + j, exp_nonpositive_v(vload(s.data() + m * skpad + j) - mx[m]));
        }
        row_sums(int(mr), s.data(), skpad, sk, sum);
        for (int64_t m = 0; m < mr; ++m)
          for (int64_t j = 0; j < skpad; j += kLanes)
            vstore(s.data() + m * skpad + j, vload(s.data() + m * skpad + j) / sum[m]);
        // Output: o[i0+m][h*d + c] = sum_j p[m][j] v[j][h*d + c], j ascending over the sk real keys.
        for (int64_t p = 0; p < dpanels; ++p) {
          panel_product(s.data(), skpad, mr, vp + (h * dpanels + p) * sk * kNR, sk, acc.data());
          const int64_t c0 = p * kNR, nc = std::min<int64_t>(kNR, d - c0);
          for (int64_t m = 0; m < mr; ++m)
            std::memcpy(o.row(i0 + m) + h * d + c0, acc.data() + m * kNR, size_t(nc) * sizeof(float));
        }
      }
    }
  }
  return o;
}

}  // namespace sixbit::model
