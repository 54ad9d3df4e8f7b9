// sixbit: the command. `sixbit --help` lists the subcommands; `sixbit CMD --help` explains one.
// Exit codes: 0 success, 1 an error in the input or the run (message on stderr), 2 a usage error.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "harness/cli/args.hpp"
#include "harness/cli/world_commands.hpp"

namespace {
using sixbit::cli::Command;
const Command kCommands[] = {
    {"run", "the main job: quantized inference on the embedded default and a report", sixbit::cli::kRunUsage, sixbit::cli::cmd_run},
    {"quantize", "quantize a tensor file (safetensors or .npy) to NVFP4 or INT8 safetensors", sixbit::cli::kQuantizeUsage, sixbit::cli::cmd_quantize},
    {"inspect", "per-tensor quantization error, bits and bytes of a tensor file", sixbit::cli::kInspectUsage, sixbit::cli::cmd_inspect},
    {"calibrate", "fit the precision predictor s ~ a*d + c over prompts and steps", sixbit::cli::kCalibrateUsage, sixbit::cli::cmd_calibrate},
    {"compare", "run two backends op by op on the same inputs and report where they differ", sixbit::cli::kCompareUsage, sixbit::cli::cmd_compare},
    {"cache-sweep", "residual caches (tdc, teacache, fbcache) at equal skip rate: quality vs skips", sixbit::cli::kCacheSweepUsage, sixbit::cli::cmd_cache_sweep},
    {"layer", "layer-level emulation of one DiT-shaped linear in every format", sixbit::cli::kLayerUsage, sixbit::cli::cmd_layer},
    {"world", "render a video of the procedural world the small model is trained on", sixbit::cli::kWorldUsage, sixbit::cli::cmd_world},
    {"eval-world", "sample the trained small model on the world's prompts, score adherence per attribute", sixbit::cli::kEvalWorldUsage, sixbit::cli::cmd_eval_world},
};

void print_help(FILE* out) {
  std::fprintf(out, "usage: sixbit COMMAND [options]   (sixbit COMMAND --help for details)\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(stdout);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    std::vector<std::string> rest(argv + 2, argv + argc);
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        std::fputs(c.usage, stdout);
        return 0;
      }
    try {
      return c.run(rest);
    } catch (const sixbit::cli::UsageError& e) {
      std::fprintf(stderr, "sixbit %s: %s\n\n%s", c.name, e.what(), c.usage);
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sixbit: error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "sixbit: unknown command '%s'\n\n", name.c_str());
  print_help(stderr);
  return 2;
}
