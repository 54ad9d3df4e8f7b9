// sixbit/harness/cli/world_commands.hpp: `sixbit world` (render the procedural world) and `sixbit eval-world`
// (sample the trained small model on the world's prompts and score adherence per attribute). docs/world.md.
#pragma once

#include <string>
#include <vector>

namespace sixbit::cli {

int cmd_world(const std::vector<std::string>& argv);
int cmd_eval_world(const std::vector<std::string>& argv);
extern const char* const kWorldUsage;
extern const char* const kEvalWorldUsage;

// Nearest-neighbour upscaling of one frame (8-bit RGB) by an integer factor, for GIFs a person can see.
std::vector<uint8_t> upscale_rgb8(const std::vector<uint8_t>& rgb, int height, int width, int scale);

}  // namespace sixbit::cli
