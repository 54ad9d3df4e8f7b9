// Writes >= 10^6 NVFP4 blocks (random and adversarial, in many small tensors with their own amax) quantized by
// every recipe, for tests/oracle/nvfp4_recipes.py to compare against independent transcriptions of each library.
// Usage: nvfp4_dump OUT_FILE [tensors]
// Layout (little endian): "SXNV" u32 version=1, u32 tensors T, u32 blocks per tensor B, f32 inputs[T][B*16],
// then for each recipe in {te, modelopt, torchao, cutlass}: u8 scales[T][B], u8 packed[T][B*8], f32 decode[T].
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "emulation/quant/nvfp4.hpp"

namespace {
constexpr uint32_t kBlocks = 64;  // blocks per tensor: 16 rows of 64 elements

// One tensor of kBlocks blocks drawn from scenario `kind`; the scenarios cover what flips bits between recipes.
void fill_tensor(std::mt19937& rng, int kind, float* x) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
  const float e2m1_mid[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  if (kind == 5) {
    // Exact rounding ties: tensor amax 2688 * 2^e makes the global scales powers of two, a block with amax
    // 6 * 2^j * G gets the exact scale 2^j, and elements mid * 2^j * G then scale to the E2M1 midpoint `mid`
    // exactly, in every recipe. This is where RNE versus other tie rules shows.
    const int e = static_cast<int>(rng() % 30) - 20;
    const float G = std::ldexp(1.0f, e);
    for (uint32_t b = 0; b < kBlocks; ++b) {
      float* blk = x + b * 16;
      const float unit = std::ldexp(G, static_cast<int>(rng() % 15) - 6);  // 2^j * G, j in [-6, 8]
      for (int i = 0; i < 16; ++i) blk[i] = e2m1_mid[rng() % 7] * unit * ((rng() & 1) ? 1.0f : -1.0f);
      blk[rng() % 16] = 6.0f * unit * ((rng() & 1) ? 1.0f : -1.0f);
    }
    x[0] = 2688.0f * G;  // the tensor amax (2688 * G >= 6 * 2^8 * G, every block's amax)
    return;
  }
  const float tensor_gain = std::ldexp(1.0f, static_cast<int>(rng() % 60) - 30);  // amax from 2^-30 to 2^29
  for (uint32_t b = 0; b < kBlocks; ++b) {
    float* blk = x + b * 16;
    const float block_gain = std::exp(nd(rng) * 2.0f);  // block scales spread over decades (lognormal)
    const int sub = static_cast<int>(rng() % 8);
    for (int i = 0; i < 16; ++i) blk[i] = nd(rng) * block_gain;
    switch ((kind + sub) % 8) {
      case 0: break;                                                        // normal
      case 1: for (int i = 0; i < 16; ++i) blk[i] = 0.0f; break;           // zero block
      case 2: blk[rng() % 16] *= 1e4f; break;                              // one huge element
      case 3: for (int i = 0; i < 16; ++i) blk[i] = blk[0]; break;         // all equal
      case 4: for (int i = 0; i < 16; ++i) blk[i] *= 1e-9f; break;         // scale underflow / subnormal scales
      case 5: blk[rng() % 16] = e2m1_mid[rng() % 7] * block_gain; break;  // a midpoint, before scaling
      case 6: blk[rng() % 16] = -0.0f; blk[rng() % 16] = 0.0f; break;      // signed zeros
      case 7: for (int i = 0; i < 16; ++i) blk[i] = ud(rng) * block_gain; break;  // uniform
    }
    for (int i = 0; i < 16; ++i) blk[i] *= tensor_gain;
  }
}
}  // namespace

int main(int argc, char** argv) {
  try {
    SIXBIT_CHECK(argc >= 2, "usage: nvfp4_dump OUT_FILE [tensors]");
    const uint32_t tensors = argc >= 3 ? static_cast<uint32_t>(std::stoul(argv[2])) : 16384;  // 16384*64 = 1,048,576 blocks
    std::vector<float> x(static_cast<size_t>(tensors) * kBlocks * 16);
    std::mt19937 rng(20261124);
    for (uint32_t t = 0; t < tensors; ++t) fill_tensor(rng, static_cast<int>(t % 8), x.data() + static_cast<size_t>(t) * kBlocks * 16);
    FILE* f = std::fopen(argv[1], "wb");
    SIXBIT_CHECK(f != nullptr, "cannot write ", argv[1]);
    const uint32_t header[4] = {0x564E5853u /* "SXNV" */, 1u, tensors, kBlocks};
    std::fwrite(header, sizeof header, 1, f);
    std::fwrite(x.data(), sizeof(float), x.size(), f);
    using sixbit::quant::Nvfp4Recipe;
    for (Nvfp4Recipe r : {Nvfp4Recipe::kTe, Nvfp4Recipe::kModelopt, Nvfp4Recipe::kTorchao, Nvfp4Recipe::kCutlass}) {
      std::vector<uint8_t> scales, packed;
      std::vector<float> decode;
      for (uint32_t t = 0; t < tensors; ++t) {
        const auto q = sixbit::quant::nvfp4_quantize(x.data() + static_cast<size_t>(t) * kBlocks * 16, 16, kBlocks, r);
        scales.insert(scales.end(), q.scales.begin(), q.scales.end());
        packed.insert(packed.end(), q.packed.begin(), q.packed.end());
        decode.push_back(q.global_decode);
      }
      std::fwrite(scales.data(), 1, scales.size(), f);
      std::fwrite(packed.data(), 1, packed.size(), f);
      std::fwrite(decode.data(), sizeof(float), decode.size(), f);
    }
    SIXBIT_CHECK(std::fclose(f) == 0, "write failed: ", argv[1]);
    std::printf("wrote %u tensors x %u blocks = %llu blocks to %s\n", tensors, kBlocks, static_cast<unsigned long long>(tensors) * kBlocks, argv[1]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nvfp4_dump: error: %s\n", e.what());
    return 1;
  }
}
