// Every code of every small format round-trips; ties, subnormals, saturation edges, -0.0, NaN, Inf.
// All checks EXACT (bit equality of codes and decoded values).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/formats/int8.hpp"
#include "emulation/formats/ue8m0.hpp"

namespace {
using namespace sixbit::fmt;
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(E2M1, EveryCodeRoundTrips) {
  const float table[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (int c = 0; c < 16; ++c) {
    const float v = e2m1_decode(static_cast<uint8_t>(c));
    EXPECT_EQ(v, (c & 8) ? -table[c & 7] : table[c & 7]) << c;
    EXPECT_EQ(e2m1_encode(v), c) << "code " << c << " value " << v;  // -0.0 decodes and re-encodes to 0x8
    EXPECT_EQ(static_cast<float>(e2m1_to_half_units(static_cast<uint8_t>(c))), 2.0f * v) << c;
  }
}

TEST(E2M1, MidpointsTieToEven) {
  // (value, expected code): each midpoint goes to the even mantissa; just above/below go to the nearer code.
  const struct { float x; uint8_t code; } cases[] = {
      {0.25f, 0}, {std::nextafter(0.25f, 1.0f), 1}, {0.75f, 2}, {std::nextafter(0.75f, 0.0f), 1}, {1.25f, 2},
      {std::nextafter(1.25f, 2.0f), 3}, {1.75f, 4}, {std::nextafter(1.75f, 0.0f), 3}, {2.5f, 4},
      {std::nextafter(2.5f, 3.0f), 5}, {3.5f, 6}, {std::nextafter(3.5f, 0.0f), 5}, {5.0f, 6},
      {std::nextafter(5.0f, 6.0f), 7}, {6.0f, 7}, {1e30f, 7}};
  for (const auto& c : cases) {
    EXPECT_EQ(e2m1_encode(c.x), c.code) << c.x;
    EXPECT_EQ(e2m1_encode(-c.x), c.code | 8) << -c.x;
  }
}

TEST(E2M1, SpecialValues) {
  EXPECT_EQ(e2m1_encode(0.0f), 0x0);
  EXPECT_EQ(e2m1_encode(-0.0f), 0x8);
  EXPECT_EQ(e2m1_encode(-1e-30f), 0x8);
  EXPECT_EQ(e2m1_encode(kInf), 0x7);
  EXPECT_EQ(e2m1_encode(-kInf), 0xF);
  EXPECT_EQ(e2m1_encode(kNaN), 0x7);
  EXPECT_EQ(e2m1_encode(-kNaN), 0x7);
  EXPECT_EQ(e2m1_encode(std::numeric_limits<float>::denorm_min()), 0x0);
}

TEST(E2M1, PackingPutsEvenElementInLowNibble) {
  EXPECT_EQ(e2m1_pack(0x1, 0xF), 0xF1);
  EXPECT_EQ(e2m1_unpack(0xF1, 0), 0x1);
  EXPECT_EQ(e2m1_unpack(0xF1, 1), 0xF);
  for (int a = 0; a < 16; ++a)
    for (int b = 0; b < 16; ++b) {
      const uint8_t p = e2m1_pack(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
      EXPECT_EQ(e2m1_unpack(p, 0), a);
      EXPECT_EQ(e2m1_unpack(p, 1), b);
    }
}

TEST(E4M3, EveryCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const float v = e4m3_decode(static_cast<uint8_t>(c));
    if ((c & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(v)) << c;
      EXPECT_EQ(e4m3_encode(v), 0x7F);  // NaN canonicalises to 0x7F
      continue;
    }
    EXPECT_EQ(e4m3_encode(v, Saturation::kSatFinite), c) << c;
    EXPECT_EQ(e4m3_encode(v, Saturation::kNoSat), c) << c;
  }
  EXPECT_EQ(e4m3_decode(0x7E), 448.0f);
  EXPECT_EQ(e4m3_decode(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(e4m3_decode(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(e4m3_decode(0x07), 7.0f * std::ldexp(1.0f, -9));
}

TEST(E4M3, EveryMidpointTiesToEven) {
  // Midpoint between each pair of adjacent positive finite codes (subnormal and normal): RNE picks the even code.
  for (int c = 0; c < 0x7E; ++c) {
    const double lo = e4m3_decode(static_cast<uint8_t>(c)), hi = e4m3_decode(static_cast<uint8_t>(c + 1));
    const float mid = static_cast<float>((lo + hi) / 2);  // exact: needs at most 5 significant bits
    ASSERT_EQ(static_cast<double>(mid), (lo + hi) / 2);
    const int even = (c % 2 == 0) ? c : c + 1;
    EXPECT_EQ(e4m3_encode(mid), even) << "midpoint " << mid;
    EXPECT_EQ(e4m3_encode(std::nextafter(mid, 0.0f)), c) << mid;
    EXPECT_EQ(e4m3_encode(std::nextafter(mid, 1e9f)), c + 1) << mid;
    EXPECT_EQ(e4m3_encode(-mid), even | 0x80) << -mid;
  }
}

TEST(E4M3, SaturationAndUnderflowEdges) {
  EXPECT_EQ(e4m3_encode(464.0f, Saturation::kSatFinite), 0x7E);  // tie between 448 and (NaN) 480 -> 448
  EXPECT_EQ(e4m3_encode(464.0f, Saturation::kNoSat), 0x7E);
  EXPECT_EQ(e4m3_encode(std::nextafter(464.0f, 1e9f), Saturation::kSatFinite), 0x7E);
  EXPECT_EQ(e4m3_encode(std::nextafter(464.0f, 1e9f), Saturation::kNoSat), 0x7F);
  EXPECT_EQ(e4m3_encode(kInf, Saturation::kSatFinite), 0x7E);
  EXPECT_EQ(e4m3_encode(-kInf, Saturation::kSatFinite), 0xFE);
  EXPECT_EQ(e4m3_encode(kInf, Saturation::kNoSat), 0x7F);
  EXPECT_EQ(e4m3_encode(-kInf, Saturation::kNoSat), 0xFF);
  EXPECT_EQ(e4m3_encode(std::ldexp(1.0f, -10)), 0x00);  // half the smallest subnormal: tie to 0
  EXPECT_EQ(e4m3_encode(std::nextafter(std::ldexp(1.0f, -10), 1.0f)), 0x01);
  EXPECT_EQ(e4m3_encode(-0.0f), 0x80);
  EXPECT_EQ(e4m3_encode(kNaN), 0x7F);
  EXPECT_EQ(e4m3_encode(-kNaN), 0x7F);
  EXPECT_EQ(ue4m3_encode(448.0f), 0x7E);
  EXPECT_EQ(ue4m3_encode(-0.0f), 0x00);
  EXPECT_EQ(ue4m3_decode(0x80 | 0x38), 1.0f);  // the sign bit is not part of UE4M3
}

TEST(UE8M0, EveryCodeRoundTripsInBothRoundings) {
  for (int c = 0; c < 255; ++c) {
    const float v = ue8m0_decode(static_cast<uint8_t>(c));
    ASSERT_GT(v, 0.0f);
    EXPECT_EQ(ue8m0_encode(v, E8M0Rounding::kTowardZero, true), c) << c;
    EXPECT_EQ(ue8m0_encode(v, E8M0Rounding::kTowardPosInf, true), c) << c;  // powers of two: no rounding
  }
  EXPECT_TRUE(std::isnan(ue8m0_decode(0xFF)));
  EXPECT_EQ(ue8m0_encode(3.0f, E8M0Rounding::kTowardZero, true), 128);   // 2^1
  EXPECT_EQ(ue8m0_encode(3.0f, E8M0Rounding::kTowardPosInf, true), 129); // 2^2
  EXPECT_EQ(ue8m0_encode(-3.0f, E8M0Rounding::kTowardZero, true), 128);  // the sign is ignored
  EXPECT_EQ(ue8m0_encode(kInf, E8M0Rounding::kTowardZero, true), 0xFE);
  EXPECT_EQ(ue8m0_encode(kInf, E8M0Rounding::kTowardZero, false), 0xFF);
  EXPECT_EQ(ue8m0_encode(kNaN, E8M0Rounding::kTowardZero, true), 0xFF);
}

TEST(Int8, EncodeRoundsHalfToEvenAndClamps) {
  const struct { float x; int q; } cases[] = {{0.5f, 0},   {1.5f, 2},    {2.5f, 2},     {-0.5f, 0},  {-1.5f, -2},
                                              {126.5f, 126}, {127.5f, 127}, {300.0f, 127}, {-300.0f, -127},
                                              {-127.5f, -127}, {0.49999997f, 0}, {kInf, 127}, {-kInf, -127}, {kNaN, 0}};
  for (const auto& c : cases) EXPECT_EQ(int8_encode(c.x, 1.0f), c.q) << c.x;
  EXPECT_EQ(int8_encode(1.0f, 63.5f), 64);  // 63.5 -> 64 (even)
  EXPECT_EQ(int8_decode(-127, 0.5f), -63.5f);
}

}  // namespace
