// sixbit/emulation/formats/hd.hpp: what lets one scalar codec serve host and device.
//
// Every codec in emulation/formats is a header of SIXBIT_HD inline functions on raw bits, so the CPU
// emulator, the tests and the CUDA kernels (cuda/) compile the very same source.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define SIXBIT_HD __host__ __device__ __forceinline__
#else
#define SIXBIT_HD inline
#endif

namespace sixbit::fmt {

SIXBIT_HD uint32_t f32_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

SIXBIT_HD float f32_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

SIXBIT_HD bool f32_is_nan(float x) { return (f32_bits(x) & 0x7FFFFFFFu) > 0x7F800000u; }
SIXBIT_HD bool f32_is_finite(float x) { return (f32_bits(x) & 0x7F800000u) != 0x7F800000u; }

// Round the low `shift` bits of `v` away, to nearest, ties to even (shift in [1, 31]).
SIXBIT_HD uint32_t shift_right_rne(uint32_t v, uint32_t shift) {
  const uint32_t q = v >> shift;
  const uint32_t rem = v & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

}  // namespace sixbit::fmt
