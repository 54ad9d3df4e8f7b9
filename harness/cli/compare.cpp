// `sixbit compare`: two backends op by op on the same inputs (harness/compare/comparing_ops.hpp) over a short
// sampling run of one prompt, driven by the same engine as `sixbit run`.
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/check.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/backends.hpp"
#include "harness/cli/common_options.hpp"
#include "harness/compare/comparing_ops.hpp"
#include "harness/engine/engine.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::cli {

const char* const kCompareUsage =
    "usage: sixbit compare [options]\n"
    "Runs every op of a sampling run on backend A, gives backend B the same inputs, and reports per op (name,\n"
    "layer, block, step): bit mismatches, max |a - b| and relative L2 ||a - b|| / ||a||, and the first op and\n"
    "element that diverge. The run continues on A's results, so each op is compared in isolation.\n"
    "  --a NAME --b NAME     backends (default emulator vs reference): reference, emulator, cuda, cuda-verify\n"
    "  --precision P         block linears: full (default), w8a8, w4a4, w4a8 (both backends must run it)\n"
    "  --recipe NAME         NVFP4 recipe (default te)\n"
    "  --model SPEC --model-config SPEC --weight-seed N --prompt TEXT   as for `sixbit run`\n"
    "  --steps N (default 2) --shift X --guidance X --solver euler|unipc --seed N\n"
    "  --json PATH           the full report (every op) as JSON; refused if PATH exists unless --overwrite\n"
    "  --rows N              table rows of mismatching ops to print (default 10)\n"
    "  --expect-identical    exit 1 if any op differs (for scripts and CI)\n";

int cmd_compare(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, merge({kModelOptions, kSamplerOptions, {"prompt", "a", "b", "precision", "recipe", "json", "rows"}}),
                            {"overwrite", "expect-identical"});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  const std::string an = choice(a, "a", "emulator", harness::backend_names()), bn = choice(a, "b", "reference", harness::backend_names());
  const auto precision = model::linear_precision_from_name(choice(a, "precision", "full", {"full", "w8a8", "w4a4", "w4a8"}));
  const std::string recipe = choice(a, "recipe", "te", {"te", "modelopt", "torchao", "cutlass"});
  const int rows = int(a.get_int("rows", 10, 0, 1000000));
  const std::string json_path = a.get("json", "");
  SIXBIT_CHECK(json_path.empty() || a.has("overwrite") || !std::filesystem::exists(json_path), json_path,
               ": already exists; refusing to overwrite");
  if (precision != model::LinearPrecision::kFull)
    for (const auto& n : {an, bn})
      if (!harness::backend_runs_quantized(n)) throw UsageError("--precision " + std::string(model::linear_precision_name(precision)) + ": backend " + n + " runs full precision only");

  harness::ModelBundle m = model_from_args(a);
  if (!a.has("steps")) m.steps = 2;
  const SamplerOptions so = sampler_from_args(a, m);
  const std::string prompt = prompts_from_args(a, m.default_prompts).front();
  harness::BackendOptions bo;
  bo.recipe = quant::nvfp4_recipe_from_name(recipe);
  const auto A = harness::make_backend(an, bo), B = harness::make_backend(bn, bo);
  harness::ComparingOps cmp(*A, *B);
  harness::EngineOptions eo;
  eo.policy = precision == model::LinearPrecision::kFull ? harness::Policy::kFull
              : precision == model::LinearPrecision::kW8A8 ? harness::Policy::kW8A8
              : precision == model::LinearPrecision::kW4A4 ? harness::Policy::kW4A4 : harness::Policy::kW4A8;
  eo.site = [&](int step, bool cond, int block) { cmp.set_site(step, cond, block); };
  harness::Engine engine(m.cfg, m.weights, cmp, eo);
  harness::sample_video(engine, m.cfg, so.solver, so.steps, so.shift, so.guidance, so.seed, m.encode(prompt), m.encode(""));

  const auto& recs = cmp.comparisons();
  struct Agg { int64_t ops = 0, bad_ops = 0, bad_elems = 0, elems = 0; double max_abs = 0, max_rel = 0; };
  std::map<std::string, Agg> by_op;
  const harness::OpComparison* first = nullptr;
  int64_t bad_ops = 0;
  for (const auto& r : recs) {
    Agg& g = by_op[r.op];
    ++g.ops;
    g.elems += r.rows * r.cols;
    if (r.mismatches) ++g.bad_ops, ++bad_ops, g.bad_elems += r.mismatches;
    g.max_abs = std::max(g.max_abs, r.max_abs);
    g.max_rel = std::max(g.max_rel, r.rel_l2);
    if (r.mismatches && !first) first = &r;
  }
  auto where = [&](const harness::OpComparison& r) {
    const std::string blk = r.block < 0 ? "embed" : r.block >= m.cfg.num_layers ? "head" : "block " + std::to_string(r.block);
    return "step " + std::to_string(r.step) + " " + (r.cond ? "cond" : "uncond") + " " + blk;
  };
  std::printf("sixbit compare: A = %s, B = %s, block linears %s, model %s, %d steps, prompt \"%s\"\n", an.c_str(),
              bn.c_str(), std::string(model::linear_precision_name(precision)).c_str(), m.name.c_str(), so.steps, prompt.c_str());
  std::printf("%lld ops compared, %lld differ\n\n%-15s %8s %10s %14s %12s %12s\n", (long long)recs.size(), (long long)bad_ops,
              "op", "ops", "ops differ", "elems differ", "max |a-b|", "max rel L2");
  for (const auto& [op, g] : by_op)
    std::printf("%-15s %8lld %10lld %14lld %12.3e %12.3e\n", op.c_str(), (long long)g.ops, (long long)g.bad_ops,
                (long long)g.bad_elems, g.max_abs, g.max_rel);
  if (first) {
    const int64_t cols = first->cols > 0 ? first->cols : 1;
    std::printf("\nfirst divergence: %s %s (%s), element %lld (row %lld, col %lld): A %.9g, B %.9g\n", first->op.c_str(),
                first->layer.c_str(), where(*first).c_str(), (long long)first->first_index,
                (long long)(first->first_index / cols), (long long)(first->first_index % cols), first->first_a, first->first_b);
    std::printf("\n%-15s %-24s %-24s %12s %12s %12s\n", "op", "layer", "where", "elems differ", "max |a-b|", "rel L2");
    int shown = 0;
    for (const auto& r : recs)
      if (r.mismatches && shown++ < rows)
        std::printf("%-15s %-24s %-24s %12lld %12.3e %12.3e\n", r.op.c_str(), r.layer.c_str(), where(r).c_str(),
                    (long long)r.mismatches, r.max_abs, r.rel_l2);
  } else {
    std::printf("\nno divergence: every op gave the same bits on both backends\n");
  }
  if (!json_path.empty()) {
    nlohmann::json j = {{"kind", "sixbit.compare"}, {"a", an}, {"b", bn}, {"precision", model::linear_precision_name(precision)},
                        {"model", m.name}, {"steps", so.steps}, {"prompt", prompt}, {"ops", recs.size()}, {"ops_differ", bad_ops},
                        {"first_divergence", nullptr}, {"records", nlohmann::json::array()}};
    for (const auto& r : recs) {
      nlohmann::json o = {{"op", r.op}, {"layer", r.layer}, {"step", r.step}, {"cond", r.cond}, {"block", r.block},
                          {"rows", r.rows}, {"cols", r.cols}, {"mismatches", r.mismatches}, {"max_abs", r.max_abs},
                          {"rel_l2", std::isfinite(r.rel_l2) ? nlohmann::json(r.rel_l2) : nlohmann::json(nullptr)},
                          {"first_index", r.first_index}};
      if (&r == first) j["first_divergence"] = o;
      j["records"].push_back(o);
    }
    const std::string text = j.dump(1) + "\n";
    io::write_file_bytes(json_path, std::vector<uint8_t>(text.begin(), text.end()), a.has("overwrite"));
  }
  if (a.has("expect-identical") && bad_ops > 0) {
    std::fprintf(stderr, "sixbit: error: %lld of %lld ops differ between %s and %s (--expect-identical)\n",
                 (long long)bad_ops, (long long)recs.size(), an.c_str(), bn.c_str());
    return 1;
  }
  return 0;
}

}  // namespace sixbit::cli
