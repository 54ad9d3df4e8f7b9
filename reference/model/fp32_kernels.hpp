// sixbit/reference/model/fp32_kernels.hpp: the fp32 linear and attention of ReferenceOps, fast and with a fixed
// arithmetic order (docs/dit.md, "Reference order").
//
// The order is the one a plain loop gives, so it is easy to state and to check: every output element is one
// sequential fp32 sum, the products added one at a time in increasing index order, starting from +0, each product
// and each sum rounded (-ffp-contract=off: no FMA). That single dot product cannot be vectorized, but a GEMM has
// many independent ones: the kernels vectorize ACROSS outputs (a row of outputs of a row-block of tokens is a set
// of lanes, each lane its own sequential sum), blocked for registers and caches. Lane-wise IEEE operations give
// the same bits at any vector width, so the AVX-512 build, the portable -march=x86-64 build and any thread count
// (threads split outputs, never a sum) produce identical results.
#pragma once

#include <cstdint>

#include "reference/model/ops.hpp"

namespace sixbit::model {

// y[r, o] = (((0 + x[r,0] w[o,0]) + x[r,1] w[o,1]) + ... + x[r,in-1] w[o,in-1]) + bias[o] (bias may be null).
// w is [out, in] (nn.Linear layout). OpenMP over (output panel, row block) tiles above a size threshold.
Mat fp32_linear(const Mat& x, const float* w, int64_t out, const float* bias);

// Softmax(q k^T / sqrt(d)) v per head; q [Sq, H*d], k and v [Sk, H*d]. Per query row i and head:
//   s_j = (q_i . k_j) * fp32(1 / sqrt(fp32(d)))      q.k a sequential sum over the head dims, as fp32_linear
//   m = max_j s_j;  e_j = exp_nonpositive(s_j - m);  sum = e_0 + e_1 + ... (sequential in j);  p_j = e_j / sum
//   o_i[c] = ((0 + p_0 v_0[c]) + p_1 v_1[c]) + ...  (sequential in j)
// OpenMP over (head, query block) tiles above a size threshold.
Mat fp32_attention(const Mat& q, const Mat& k, const Mat& v, int heads);

// e^x for x <= 0 in fp32 arithmetic only (no libm), so it is the same on every machine and vectorizes: Cephes'
// expf (Moshier, Cephes Math Library expf.c; the constants as Eigen's SSE PacketMath and avx_mathfun carry them):
// n = round-to-nearest(x log2 e) (by adding 1.5 * 2^23), r = (x - n C1) - n C2 with C1 + C2 = ln 2 (n C1 exact),
// e^r = ((((((p0 r + p1) r + p2) r + p3) r + p4) r + p5) r^2 + r) + 1, times 2^n built in the exponent field.
// x < -87.33654 (below ln FLT_MIN) gives +0 (results that would be subnormal are flushed); NaN gives NaN; x > 0 is
// outside the contract. Relative error <= 2 ulp on [-87.3, 0] (tested against fp64 exp).
float exp_nonpositive(float x);

}  // namespace sixbit::model
