// sixbit/emulation/formats/int8.hpp: symmetric INT8 element codec.
//
// q = clamp(RNE(x * inv_scale), -127, 127). -128 is never produced (symmetric range, as ModelOpt, ViDiT-Q and
// cuBLASLt-based W8A8 pipelines use). RNE is done on the fp32 product exactly as the device's cvt.rni does, so
// host and device agree to the bit. NaN inputs give 0 (the quantizers reject NaN tensors before this point).
#pragma once

#include "emulation/formats/hd.hpp"

namespace sixbit::fmt {

inline constexpr int kInt8Max = 127;

// x * inv_scale rounded to the nearest integer (ties to even) and clamped to [-127, 127], in three fp32 steps and no
// conversion instruction: clamp first (the same result as rounding first, since +-127 are integers), then add
// 1.5 * 2^23. With |c| <= 127 the sum stays in [2^23, 2^24), whose ulp is 1, so the FPU's round-to-nearest-even
// addition rounds c to an integer and leaves it in the low mantissa bits: bits(c + 1.5 * 2^23) = 0x4B400000 + RNE(c),
// whose low byte is RNE(c) in two's complement. (The previous rintf + float-to-int conversion cost a quarter-rate
// conversion instruction per element on the GPU.) Checked on all 2^32 fp32 values against std::nearbyint on the host
// (tests/exhaustive) and against rintf on the GPU (tests/gpu/gpu_codec_exhaustive.cu).
SIXBIT_HD int8_t int8_encode(float x, float inv_scale) {
  const float v = x * inv_scale;
  if (!(v == v)) return 0;  // NaN
  const float c = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
  return static_cast<int8_t>(static_cast<uint8_t>(f32_bits(c + 12582912.0f) & 0xFFu));
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
