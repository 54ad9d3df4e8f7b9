#include <gtest/gtest.h>
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
TEST(FormatsSmoke, E2M1SixRoundTrips) { EXPECT_EQ(sixbit::fmt::e2m1_decode(sixbit::fmt::e2m1_encode(6.0f)), 6.0f); }
TEST(FormatsSmoke, E4M3MaxRoundTrips) { EXPECT_EQ(sixbit::fmt::e4m3_decode(sixbit::fmt::e4m3_encode(448.0f)), 448.0f); }
