// sixbit/reference/model/exp_nonpositive.hpp: the attention exponential of the fp32 reference (Cephes' expf for
// x <= 0, fp32 only), written once. The steps that do not touch bits are templates on F = float or a GCC float vector,
// so the vectorized CPU kernel (reference/model/fp32_kernels.cpp) and the scalar host/device function below (used by
// the CUDA verify mode, cuda/dit/verify_kernels.cuh) run the same operations in the same order. Each step is one fp32
// rounding: build with -ffp-contract=off (host) and --fmad=false (device).
// Algorithm: n = RNE(x log2 e) through the 1.5 * 2^23 trick, r = (x - n C1) - n C2, the degree-5 polynomial,
// ((y r^2) + r) + 1, times 2^n in the exponent field; x < -87.33654 gives +0; NaN stays NaN.
#pragma once

#include <cstdint>

#include "emulation/formats/hd.hpp"

namespace sixbit::model::cephes_exp {

constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds |t| < 2^22 to an integer, RNE
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kC1 = 0.693359375f;  // ln 2 split: n C1 has <= 16 significant bits, so x - n C1 is exact
constexpr float kC2 = -2.12194440e-4f;
constexpr float kUnderflow = -87.33654f;  // below it the result is +0 (2^n would leave the normal range)

// r = (x - n C1) - n C2, then y = ((P(r) r^2) + r) + 1 with Cephes' coefficients, Horner from the top.
template <typename F>
SIXBIT_HD F poly_of_reduced(F x, F n) {
  F r = x - n * kC1;
  r = r - n * kC2;
  F y = F{} + 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  return y * (r * r) + r + 1.0f;
}

}  // namespace sixbit::model::cephes_exp

namespace sixbit::model {

// Scalar version for host and device; bit-identical to the vector kernel lane by lane.
SIXBIT_HD float exp_nonpositive_scalar(float x) {
  using namespace cephes_exp;
  const float t = x * kLog2e;
  const float big = t + kMagic;
  const float n = big - kMagic;
  const int32_t ni = static_cast<int32_t>(fmt::f32_bits(big)) - static_cast<int32_t>(fmt::f32_bits(kMagic));  // the integer n
  const float e = fmt::f32_from_bits(static_cast<uint32_t>(ni + 127) << 23);  // 2^n, n in [-126, 0] for x in [-87.33654, 0]
  const float res = poly_of_reduced(x, n) * e;
  return x < kUnderflow ? 0.0f : res;
}

}  // namespace sixbit::model
