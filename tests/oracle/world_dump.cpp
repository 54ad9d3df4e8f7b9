// world_dump OUT: renders every prompt of the world at 4 seeds (0, 1, 2^63 + 5, and one from splitmix64 per
// prompt) with the C++ renderer and writes, per video: u32 prompt id, u64 seed, f64 radius, f64 x0, f64 y0,
// then frames*height*width*3 bytes. tests/oracle/world_numpy.py renders the same with experiments/world.py.
#include <cstdio>
#include <exception>
#include <fstream>

#include "reference/model/weights.hpp"
#include "reference/world/world.hpp"

namespace sw = sixbit::world;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: world_dump OUT\n");
    return 2;
  }
  try {
    std::ofstream out(argv[1], std::ios::binary);
    uint64_t rng = 0x5eed;
    const auto prompts = sw::all_prompts();
    const uint32_t count = uint32_t(prompts.size() * 4);
    out.write(reinterpret_cast<const char*>(&count), 4);
    for (const sw::Attributes& a : prompts)
      for (uint64_t seed : {uint64_t(0), uint64_t(1), (uint64_t(1) << 63) + 5, sixbit::model::splitmix64(rng)}) {
        const sw::Scene s = sw::make_scene(a, seed);
        const std::vector<uint8_t> px = sw::render_rgb8(s);
        const uint32_t id = uint32_t(sw::prompt_id(a));
        const sw::Object& o = s.objects.at(0);
        out.write(reinterpret_cast<const char*>(&id), 4);
        out.write(reinterpret_cast<const char*>(&seed), 8);
        for (double d : {o.radius, o.x0, o.y0}) out.write(reinterpret_cast<const char*>(&d), 8);
        out.write(reinterpret_cast<const char*>(px.data()), std::streamsize(px.size()));
      }
    if (!out) throw std::runtime_error("write failed");
    std::printf("world_dump: %u videos\n", count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "world_dump: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
