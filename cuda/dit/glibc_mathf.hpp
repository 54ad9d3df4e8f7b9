// sixbit/cuda/dit/glibc_mathf.hpp: expf and tanhf exactly as the host's glibc computes them, for host and device.
//
// Why: ReferenceOps (reference/model/reference_ops.cpp) calls std::exp / std::tanh on floats (glibc expf, tanhf).
// CUDA's expf/tanhf differ from glibc in the last bit on some inputs, which is enough to break bit-identity of a
// whole DiT forward. These transcriptions reproduce glibc's operation sequence, so the verify mode of the CUDA
// backend (cuda/dit/dit_ops.hpp) gives the reference's bits.
//
// Sources (read for this file, 2026-11; the constants were also read back from this machine's libm.so.6):
// - expf: glibc sysdeps/ieee754/flt-32/e_expf.c with e_exp2f_data.c (N = 32 table, the ARM optimized-routines
//   algorithm, glibc >= 2.28). On x86-64 glibc dispatches to an FMA build (__expf_fma) when the CPU has FMA and
//   AVX2; its disassembly contracts exactly: kd = fma(InvLn2N, xd, SHIFT), r = fma(InvLn2N, xd, -kd),
//   z = fma(C0, r, C1), y = fma(C2, r, 1), y = fma(z, r*r, y). glibc_expf below is that variant. A CPU without
//   FMA gets the plain variant (glibc_expf_nofma) — tests/gpu checks which one the host's libm matches.
// - tanhf / expm1f: glibc sysdeps/ieee754/flt-32/s_tanhf.c and s_expm1f.c (fdlibm, Sun 1993); compiled without
//   FMA on x86-64 (no multiarch variant), every float operation rounded once, in the order written.
// Device code must be compiled with --fmad=false (sixbit_cuda_dit is) so no multiply-add is contracted.
// Check: tests/gpu/gpu_dit_{verify,fast}.cpp GlibcMath.* compares with the host's libm (all 2^32 inputs with SIXBIT_EXHAUSTIVE=1).
#pragma once

#include <cmath>
#include <cstdint>

#include "emulation/formats/hd.hpp"
#include "reference/model/exp_nonpositive.hpp"

namespace sixbit::cuda::glibc {

SIXBIT_HD uint64_t f64_bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(x));
#else
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
SIXBIT_HD double f64_from_bits(uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// 2^(i/32) as double bits minus (i << 47) (e_exp2f_data.c `tab`); checked against 2^(i/32) in tests/gpu.
#define SIXBIT_EXP2F_TABLE                                                                                                   \
  {0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b, 0x3fef54873168b9aa, \
   0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d, \
   0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, \
   0x3feea11473eb0187, 0x3feea589994cce13, 0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, \
   0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f, \
   0x3fefa4afa2a490da, 0x3fefd0765b6e4540}
#if defined(__CUDACC__)
static __device__ const uint64_t kExp2fTableDevice[32] = SIXBIT_EXP2F_TABLE;  // global memory: lanes index it freely
#endif
static constexpr uint64_t kExp2fTableHost[32] = SIXBIT_EXP2F_TABLE;
#undef SIXBIT_EXP2F_TABLE

SIXBIT_HD uint64_t exp2f_table(int i) {
#if defined(__CUDA_ARCH__)
  return kExp2fTableDevice[i];
#else
  return kExp2fTableHost[i];
#endif
}

template <bool kFma>
SIXBIT_HD float expf_impl(float x) {
  constexpr double kInvLn2N = 0x1.71547652b82fep+5;  // 32 / ln 2
  constexpr double kShift = 0x1.8p+52;
  constexpr double kC0 = 0x1.c6af84b912394p-20, kC1 = 0x1.ebfce50fac4f3p-13, kC2 = 0x1.62e42ff0c52d6p-6;  // poly_scaled
  const uint32_t ux = fmt::f32_bits(x);
  const uint32_t abstop = (ux >> 20) & 0x7ff;
  if (abstop >= 0x42b) {                                  // |x| >= 88 or NaN
    if (ux == 0xff800000u) return 0.0f;                   // -inf
    if (abstop >= 0x7f8) return x + x;                    // inf, NaN
    if (x > 0x1.62e42ep6f) return fmt::f32_from_bits(0x7f800000u);  // __math_oflowf: 0x1p97f * 0x1p97f
    if (x < -0x1.9fe368p6f) return 0.0f;                  // __math_uflowf: 0x1p-95f * 0x1p-95f
    if (x < -0x1.9d1d9ep6f) return fmt::f32_from_bits(1u);  // __math_may_uflowf: 0x1.4p-75f^2 rounds to 2^-149
  }
  const double xd = static_cast<double>(x);
  double kd, r;
  if constexpr (kFma) {
    kd = fma(kInvLn2N, xd, kShift);
  } else {
    const double z0 = kInvLn2N * xd;
    kd = z0 + kShift;
  }
  const uint64_t ki = f64_bits(kd);
  kd -= kShift;
  if constexpr (kFma) {
    r = fma(kInvLn2N, xd, -kd);
  } else {
    r = kInvLn2N * xd - kd;
  }
  uint64_t t = exp2f_table(static_cast<int>(ki % 32));
  t += ki << 47;
  const double s = f64_from_bits(t);
  double z, y;
  const double r2 = r * r;
  if constexpr (kFma) {
    z = fma(kC0, r, kC1);
    y = fma(kC2, r, 1.0);
    y = fma(z, r2, y);
  } else {
    z = kC0 * r + kC1;
    y = kC2 * r + 1.0;
    y = z * r2 + y;
  }
  y = y * s;
  return static_cast<float>(y);
}

SIXBIT_HD float glibc_expf(float x) { return expf_impl<true>(x); }
SIXBIT_HD float glibc_expf_nofma(float x) { return expf_impl<false>(x); }

// fdlibm expm1f as glibc has it (s_expm1f.c); only the paths tanhf reaches need to be fast, all are transcribed.
SIXBIT_HD float glibc_expm1f(float x) {
  constexpr float one = 1.0f, huge = 1.0e+30f, tiny = 1.0e-30f;
  constexpr float o_threshold = 8.8721679688e+01f, ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f,
                  invln2 = 1.4426950216e+00f;
  constexpr float Q1 = -3.3333335072e-02f, Q2 = 1.5873016091e-03f, Q3 = -7.9365076090e-05f, Q4 = 4.0082177293e-06f,
                  Q5 = -2.0109921195e-07f;
  float y, hi, lo, c = 0.0f, t, e, hxs, hfx, r1;
  int32_t k;
  uint32_t hx = fmt::f32_bits(x);
  const uint32_t xsb = hx & 0x80000000u;
  hx &= 0x7fffffffu;
  if (hx >= 0x4195b844u) {        // |x| >= 27 ln2
    if (hx >= 0x42b17218u) {      // |x| >= 88.72...
      if (hx > 0x7f800000u) return x + x;
      if (hx == 0x7f800000u) return xsb == 0 ? x : -1.0f;
      if (x > o_threshold) return huge * huge;
    }
    if (xsb != 0) return tiny - one;
  }
  if (hx > 0x3eb17218u) {         // |x| > 0.5 ln2
    if (hx < 0x3F851592u) {       // and |x| < 1.5 ln2
      if (xsb == 0) { hi = x - ln2_hi; lo = ln2_lo; k = 1; }
      else { hi = x + ln2_hi; lo = -ln2_lo; k = -1; }
    } else {
      k = static_cast<int32_t>(invln2 * x + (xsb == 0 ? 0.5f : -0.5f));
      t = static_cast<float>(k);
      hi = x - t * ln2_hi;
      lo = t * ln2_lo;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x33000000u) {  // |x| < 2^-25
    t = huge + x;
    return x - (t - (huge + x));
  } else {
    k = 0;
  }
  hfx = 0.5f * x;
  hxs = x * hfx;
  r1 = one + hxs * (Q1 + hxs * (Q2 + hxs * (Q3 + hxs * (Q4 + hxs * Q5))));
  t = 3.0f - r1 * hfx;
  e = hxs * ((r1 - t) / (6.0f - x * t));
  if (k == 0) return x - (x * e - hxs);
  e = (x * (e - c) - c);
  e -= hxs;
  if (k == -1) return 0.5f * (x - e) - 0.5f;
  if (k == 1) {
    if (x < -0.25f) return -2.0f * (e - (x + 0.5f));
    return one + 2.0f * (x - e);
  }
  if (k <= -2 || k > 56) {
    y = one - (e - x);
    if (k == 128) {
      y = y * 2.0f * 0x1p127f;
    } else {
      y = fmt::f32_from_bits(fmt::f32_bits(y) + (static_cast<uint32_t>(k) << 23));
    }
    return y - one;
  }
  if (k < 23) {
    t = fmt::f32_from_bits(0x3f800000u - (0x1000000u >> k));  // 1 - 2^-k
    y = t - (e - x);
  } else {
    t = fmt::f32_from_bits(static_cast<uint32_t>(0x7f - k) << 23);  // 2^-k
    y = x - (e + t);
    y += one;
  }
  return fmt::f32_from_bits(fmt::f32_bits(y) + (static_cast<uint32_t>(k) << 23));
}

// fdlibm tanhf as glibc has it (s_tanhf.c).
SIXBIT_HD float glibc_tanhf(float x) {
  constexpr float one = 1.0f, two = 2.0f, tiny = 1.0e-30f;
  const uint32_t jx = fmt::f32_bits(x);
  const uint32_t ix = jx & 0x7fffffffu;
  const bool neg = (jx >> 31) != 0;
  float t, z;
  if (ix >= 0x7f800000u) return neg ? one / x - one : one / x + one;
  if (ix < 0x41b00000u) {  // |x| < 22
    if (ix == 0) return x;
    if (ix < 0x24000000u) return x * (one + x);
    const float ax = fmt::f32_from_bits(ix);
    if (ix >= 0x3f800000u) {
      t = glibc_expm1f(two * ax);
      z = one - two / (t + two);
    } else {
      t = glibc_expm1f(-two * ax);
      z = -t / (t + two);
    }
  } else {
    z = one - tiny;
  }
  return neg ? -z : z;
}

// ReferenceOps' attention exponential (Cephes' expf for x <= 0): the one source in reference/model/exp_nonpositive.hpp.
SIXBIT_HD float cephes_exp_nonpositive(float x) { return ::sixbit::model::exp_nonpositive_scalar(x); }

}  // namespace sixbit::cuda::glibc
