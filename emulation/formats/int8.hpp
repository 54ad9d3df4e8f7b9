// sixbit/emulation/formats/int8.hpp: symmetric INT8 element codec.
//
// q = clamp(RNE(x * inv_scale), -127, 127). -128 is never produced (symmetric range, as ModelOpt, ViDiT-Q and
// cuBLASLt-based W8A8 pipelines use). RNE is done on the fp32 product exactly as the device's cvt.rni does, so
// host and device agree to the bit. NaN inputs give 0 (the quantizers reject NaN tensors before this point).
#pragma once

#include "emulation/formats/hd.hpp"

namespace sixbit::fmt {

inline constexpr int kInt8Max = 127;

// Round an fp32 to the nearest integer, ties to even, independent of the host's rounding mode.
SIXBIT_HD float f32_round_half_even(float v) {
#if defined(__CUDA_ARCH__)
  return rintf(v);
#else
  const uint32_t u = f32_bits(v);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a >= 0x4B000000u) return v;           // |v| >= 2^23: already an integer (or Inf/NaN)
  const float magic = 8388608.0f;           // 2^23: adding it pushes the fraction out with RNE
  const float mag = f32_from_bits(a);
  const float t = mag + magic;              // not folded: without -ffast-math (x+c)-c != x
  const float r = t - magic;
  return f32_from_bits(f32_bits(r) | (u & 0x80000000u));
#endif
}

SIXBIT_HD int8_t int8_encode(float x, float inv_scale) {
  const float v = x * inv_scale;
  if (f32_is_nan(v)) return 0;
  float r = f32_round_half_even(v);
  r = r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r);
  return static_cast<int8_t>(static_cast<int>(r));
}

SIXBIT_HD float int8_decode(int8_t q, float scale) { return static_cast<float>(q) * scale; }

// The symmetric scale rule shared by every INT8 quantizer, host and device: amax <= 2^-24 counts as zero
// (ModelOpt's rule: no division by a denormal), giving scale 0 and all-zero codes; otherwise the dequant scale
// is RN(amax / 127) and the codec multiplies by RN(127 / amax).
struct Int8Scale {
  float scale;      // dequant factor
  float inv_scale;  // what int8_encode multiplies by
};
SIXBIT_HD Int8Scale int8_scale_from_amax(float amax) {
  if (!(amax > 5.9604645e-08f)) return {0.0f, 0.0f};  // 2^-24
  return {amax / 127.0f, 127.0f / amax};
}

}  // namespace sixbit::fmt
