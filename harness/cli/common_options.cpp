// sixbit/harness/cli/common_options.cpp: see common_options.hpp.
#include "harness/cli/common_options.hpp"

#include <filesystem>

#include "common/check.hpp"

namespace sixbit::cli {

const std::set<std::string> kModelOptions = {"model", "model-config", "weight-seed"};
const std::set<std::string> kSamplerOptions = {"steps", "shift", "guidance", "solver", "seed"};
const std::set<std::string> kPromptOptions = {"prompt", "prompts"};

std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets) {
  std::set<std::string> out;
  for (const auto& s : sets) out.insert(s.begin(), s.end());
  return out;
}

std::string choice(const Args& a, const std::string& name, const std::string& fallback, const std::vector<std::string>& allowed) {
  const std::string v = a.get(name, fallback);
  for (const auto& x : allowed)
    if (v == x) return v;
  std::string list;
  for (const auto& x : allowed) list += (list.empty() ? "" : ", ") + x;
  throw UsageError("--" + name + " expects one of " + list + ", got '" + v + "'");
}

harness::ModelBundle model_from_args(const Args& a) {
  const uint64_t seed = uint64_t(a.get_int("weight-seed", 1, 0, INT64_MAX));
  return harness::load_model(a.get("model", ""), a.get("model-config", ""), seed);
}

SamplerOptions sampler_from_args(const Args& a, const harness::ModelBundle& m) {
  SamplerOptions s;
  s.steps = int(a.get_int("steps", m.steps, 1, 1000));
  s.shift = a.get_double("shift", m.shift, 1e-3, 1e3);
  s.guidance = a.get_double("guidance", m.guidance, 0.0, 100.0);
  s.solver = sampler::solver_from_name(choice(a, "solver", m.solver, {"euler", "unipc"}));
  s.seed = uint64_t(a.get_int("seed", 1, 0, INT64_MAX));
  return s;
}

std::vector<std::string> prompts_from_args(const Args& a, const std::vector<std::string>& defaults) {
  if (a.has("prompt") && a.has("prompts")) throw UsageError("give --prompt or --prompts, not both");
  if (a.has("prompt")) {
    const std::string p = a.get("prompt", "");
    SIXBIT_CHECK(p.find_first_not_of(" \t") != std::string::npos,
                 "--prompt is empty (the empty prompt is the unconditional pass; give words)");
    harness::check_prompt_text(p);
    return {p};
  }
  if (a.has("prompts")) return harness::read_prompt_file(a.get("prompts", ""));
  return defaults;
}

void check_out_dir(const std::string& dir, bool overwrite) {
  namespace fs = std::filesystem;
  SIXBIT_CHECK(!dir.empty(), "--out is empty");
  if (fs::exists(dir)) {
    SIXBIT_CHECK(overwrite, dir, ": already exists; refusing to overwrite (--overwrite replaces the files sixbit writes)");
    SIXBIT_CHECK(fs::is_directory(dir), dir, ": exists and is not a directory");
  }
}

void create_out_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  SIXBIT_CHECK(!ec, dir, ": cannot create the output directory (", ec.message(), ")");
}

}  // namespace sixbit::cli
