// Writes our scalar codecs' results for a large deterministic sample of fp32 inputs, for
// tests/oracle/formats_ml_dtypes.py to compare with ml_dtypes (an implementation nobody here wrote).
// Usage: formats_dump OUT_FILE
// Layout (little endian): "SXFM" u32 version=1, u32 n, u32 inputs[n] (fp32 bits), then u8 codes[n] for each of
// e2m1, e4m3 satfinite, e4m3 nosat, ue8m0 RZ nosat, ue8m0 RP nosat, ue8m0 RZ satfinite, ue8m0 RP satfinite;
// then f32 decodes of every code: e2m1[16], e4m3[256], ue8m0[256].
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "common/check.hpp"
#include "emulation/formats/e2m1.hpp"
#include "emulation/formats/e4m3.hpp"
#include "emulation/formats/ue8m0.hpp"

namespace {
using namespace sixbit::fmt;

// The sample: every pattern with the low 16 bits zero (all exponents, signs, specials, every bf16 value), a
// dense sweep of every fp32 in the ranges where E2M1/E4M3 round (|x| in [2^-12, 2^10), stride 97 so every
// rounding boundary's neighbourhood is visited), the exact midpoints of both formats +- 1 ulp, and random bits.
std::vector<uint32_t> make_inputs() {
  std::vector<uint32_t> in;
  for (uint32_t hi = 0; hi < 65536; ++hi) in.push_back(hi << 16);
  for (uint32_t u = 0x39800000u; u < 0x44800000u; u += 97) {  // 2^-12 .. 2^10
    in.push_back(u);
    in.push_back(u | 0x80000000u);
  }
  auto near = [&](float m) {
    for (int d = -1; d <= 1; ++d) {
      const uint32_t b = f32_bits(m) + static_cast<uint32_t>(d);
      in.push_back(b);
      in.push_back(b ^ 0x80000000u);
    }
  };
  for (float m : {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f}) near(m);
  for (int c = 0; c < 0x7E; ++c)  // E4M3 midpoints between adjacent positive codes (exact in fp32)
    near(0.5f * (e4m3_decode(static_cast<uint8_t>(c)) + e4m3_decode(static_cast<uint8_t>(c + 1))));
  near(464.0f);
  std::mt19937 rng(20261124);
  for (int i = 0; i < 2'000'000; ++i) in.push_back(static_cast<uint32_t>(rng()));
  return in;
}

void write(std::FILE* f, const void* p, size_t bytes) {
  SIXBIT_CHECK(std::fwrite(p, 1, bytes, f) == bytes, "short write to the dump file");
}
}  // namespace

int main(int argc, char** argv) {
  try {
    SIXBIT_CHECK(argc == 2, "usage: formats_dump OUT_FILE");
    const std::vector<uint32_t> in = make_inputs();
    const size_t n = in.size();
    std::vector<std::vector<uint8_t>> codes(7, std::vector<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) {
      const float x = f32_from_bits(in[i]);
      codes[0][i] = e2m1_encode(x);
      codes[1][i] = e4m3_encode(x, Saturation::kSatFinite);
      codes[2][i] = e4m3_encode(x, Saturation::kNoSat);
      codes[3][i] = ue8m0_encode(x, E8M0Rounding::kTowardZero, false);
      codes[4][i] = ue8m0_encode(x, E8M0Rounding::kTowardPosInf, false);
      codes[5][i] = ue8m0_encode(x, E8M0Rounding::kTowardZero, true);
      codes[6][i] = ue8m0_encode(x, E8M0Rounding::kTowardPosInf, true);
    }
    std::vector<float> dec;
    for (int c = 0; c < 16; ++c) dec.push_back(e2m1_decode(static_cast<uint8_t>(c)));
    for (int c = 0; c < 256; ++c) dec.push_back(e4m3_decode(static_cast<uint8_t>(c)));
    for (int c = 0; c < 256; ++c) dec.push_back(ue8m0_decode(static_cast<uint8_t>(c)));

    std::FILE* f = std::fopen(argv[1], "wb");
    SIXBIT_CHECK(f != nullptr, "cannot open ", argv[1], " for writing");
    const uint32_t header[2] = {1u, static_cast<uint32_t>(n)};
    write(f, "SXFM", 4);
    write(f, header, sizeof header);
    write(f, in.data(), n * 4);
    for (const auto& c : codes) write(f, c.data(), n);
    write(f, dec.data(), dec.size() * 4);
    SIXBIT_CHECK(std::fclose(f) == 0, "cannot close ", argv[1]);
    std::printf("formats_dump: %zu inputs written to %s\n", n, argv[1]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "formats_dump: %s\n", e.what());
    return 1;
  }
}
