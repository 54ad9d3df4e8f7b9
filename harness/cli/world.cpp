// `sixbit world`: renders one video of the procedural world (reference/world/world.hpp) as PNG frames and a GIF,
// or lists the prompts of the grammar with their split.
#include <cstdio>
#include <filesystem>

#include "common/check.hpp"
#include "harness/cli/args.hpp"
#include "harness/cli/common_options.hpp"
#include "harness/cli/world_commands.hpp"
#include "metrics/world_detectors.hpp"
#include "reference/io/image_io.hpp"
#include "reference/world/world.hpp"

namespace sixbit::cli {

const char* const kWorldUsage =
    "usage: sixbit world --prompt TEXT --out DIR [--seed N] [--scale K] [--overwrite]\n"
    "       sixbit world --list [--split train|eval|all]\n"
    "  Renders one video of the procedural world the small model is trained on (docs/world.md): 16 frames of 32x32\n"
    "  RGB, one object moving and bouncing at the borders.\n"
    "  --prompt TEXT  'a COLOR SHAPE moving DIRECTION SPEED on a BACKGROUND background', e.g.\n"
    "                 'a red circle moving left slowly on a dark background'\n"
    "                 COLOR red|green|blue|yellow|magenta|cyan  SHAPE circle|square|triangle\n"
    "                 DIRECTION left|right|up|down  SPEED slowly|quickly  BACKGROUND dark|light\n"
    "  --seed N       object size and start position (default 0)\n"
    "  --out DIR      writes frame_00.png .. frame_15.png (32x32) and video.gif (scaled by --scale)\n"
    "  --scale K      GIF pixel scale, 1..16 (default 4: 128x128)\n"
    "  --overwrite    replace the files in an existing DIR\n"
    "  --list         print every prompt with its id and split (240 train, 48 eval), render nothing\n";

std::vector<uint8_t> upscale_rgb8(const std::vector<uint8_t>& rgb, int height, int width, int scale) {
  SIXBIT_CHECK(rgb.size() == size_t(height) * width * 3 && scale >= 1, "upscale_rgb8: bad frame");
  std::vector<uint8_t> out(rgb.size() * size_t(scale) * scale);
  const int W = width * scale;
  for (int y = 0; y < height * scale; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) out[(size_t(y) * W + x) * 3 + c] = rgb[(size_t(y / scale) * width + x / scale) * 3 + c];
  return out;
}

int cmd_world(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"prompt", "seed", "out", "scale", "split"}, {"overwrite", "list"});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  if (a.has("list")) {
    const std::string split = choice(a, "split", "all", {"train", "eval", "all"});
    for (const auto& p : world::all_prompts()) {
      const bool eval = world::is_eval_prompt(p);
      if (split == "all" || (split == "eval") == eval)
        std::printf("%3d  %-5s  %s\n", world::prompt_id(p), eval ? "eval" : "train", world::prompt_text(p).c_str());
    }
    return 0;
  }
  if (a.has("split")) throw UsageError("--split goes with --list");
  if (!a.has("prompt")) throw UsageError("--prompt is required (or --list)");
  if (!a.has("out")) throw UsageError("--out is required");
  const uint64_t seed = uint64_t(a.get_int("seed", 0, 0, INT64_MAX));
  const int scale = int(a.get_int("scale", 4, 1, 16));
  const world::Attributes attrs = world::parse_prompt(a.get("prompt", ""));
  const std::string out = a.get("out", "");
  check_out_dir(out, a.has("overwrite"));

  const world::Scene scene = world::make_scene(attrs, seed);
  const metrics::Video video = world::render_video(scene);
  create_out_dir(out);
  std::vector<io::RgbImage> gif;
  for (int f = 0; f < video.frames; ++f) {
    const std::vector<uint8_t> rgb = metrics::frame_rgb8(video, f);
    char name[32];
    std::snprintf(name, sizeof name, "frame_%02d.png", f);
    io::write_png((std::filesystem::path(out) / name).string(), io::RgbImage{video.width, video.height, rgb}, true);
    gif.push_back(io::RgbImage{video.width * scale, video.height * scale, upscale_rgb8(rgb, video.height, video.width, scale)});
  }
  io::write_gif((std::filesystem::path(out) / "video.gif").string(), gif, 10, true);

  const world::Object& o = scene.objects[0];
  const metrics::WorldDetection d = metrics::detect_world_object(video);
  std::printf("prompt   %s (id %d, %s split), seed %llu\n", world::prompt_text(attrs).c_str(), world::prompt_id(attrs),
              world::is_eval_prompt(attrs) ? "eval" : "train", (unsigned long long)seed);
  std::printf("scene    radius %.3f px, start (%.3f, %.3f), velocity (%.1f, %.1f) px/frame\n", o.radius, o.x0, o.y0, o.vx, o.vy);
  std::printf("detected %s\n", d.describe().c_str());
  std::printf("wrote    %s/frame_00.png .. frame_%02d.png (%dx%d), %s/video.gif (%dx%d, 10 fps)\n", out.c_str(),
              video.frames - 1, video.width, video.height, out.c_str(), video.width * scale, video.height * scale);
  return 0;
}

}  // namespace sixbit::cli
