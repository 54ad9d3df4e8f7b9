// sixbit/harness/cli/common_options.hpp: the options run, calibrate, compare and cache-sweep share (model, sampler,
// prompts, output directory), parsed and checked in one place so every command refuses the same bad input the
// same way: a malformed value is a usage error (exit 2), input the model cannot take is an error (exit 1).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "harness/cli/args.hpp"
#include "harness/model/model_bundle.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sixbit::cli {

// --model, --model-config, --weight-seed
extern const std::set<std::string> kModelOptions;
harness::ModelBundle model_from_args(const Args& a);

// --steps, --shift, --guidance, --solver, --seed (defaults from the model bundle)
extern const std::set<std::string> kSamplerOptions;
struct SamplerOptions {
  int steps = 10;
  double shift = 3.0, guidance = 4.0;
  sampler::Solver solver = sampler::Solver::kEuler;
  uint64_t seed = 1;
};
SamplerOptions sampler_from_args(const Args& a, const harness::ModelBundle& m);

// --prompt TEXT | --prompts FILE (one per line) | the given defaults; each checked against the model (encoded).
extern const std::set<std::string> kPromptOptions;
std::vector<std::string> prompts_from_args(const Args& a, const std::vector<std::string>& defaults);

// A value from a fixed list, else a UsageError listing the choices.
std::string choice(const Args& a, const std::string& name, const std::string& fallback, const std::vector<std::string>& allowed);

// Refuses an existing path unless `overwrite` (then only files sixbit writes are replaced, nothing is deleted).
// Called before any work so a refused run costs nothing.
void check_out_dir(const std::string& dir, bool overwrite);
// Creates it: after the inputs are validated, so a run refused for bad input leaves nothing behind.
void create_out_dir(const std::string& dir);

std::set<std::string> merge(std::initializer_list<std::set<std::string>> sets);

}  // namespace sixbit::cli
