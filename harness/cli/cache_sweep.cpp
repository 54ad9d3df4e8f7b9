// `sixbit cache-sweep`: the Temporal Delta Cache against TeaCache- and First-Block-Cache-style rules on the same
// model, prompts and seeds, at equal skip rate (harness/tdc/sweep.hpp).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/check.hpp"
#include "harness/backends.hpp"
#include "harness/cli/common_options.hpp"
#include "harness/report/progress.hpp"
#include "harness/tdc/sweep.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::cli {

const char* const kCacheSweepUsage =
    "usage: sixbit cache-sweep [options]\n"
    "Runs each residual cache over a grid of thresholds (full precision, so caching is the only difference from the\n"
    "reference run) and prints, at target skip rates, each cache's lowest error among thresholds reaching that rate.\n"
    "  --caches LIST         default tdc,teacache,fbcache\n"
    "  --points N            thresholds per cache, geometric from 1e-3 to 2 (default 16)\n"
    "  --targets LIST        skip rates to compare at (default 0.2,0.3,0.4,0.5,0.6)\n"
    "  --cache-warmup N --cache-max-skips N   shared by all caches (defaults 2 and 3)\n"
    "  --model SPEC --model-config SPEC --weight-seed N --prompt TEXT | --prompts FILE   as for `sixbit run`\n"
    "                        (default prompts: the model's calibration prompts)\n"
    "  --steps N --shift X --guidance X --solver euler|unipc --seed N\n"
    "  --json PATH           every point and the table as JSON; refused if PATH exists unless --overwrite\n"
    "  --no-progress\n";

namespace {
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}
}  // namespace

int cmd_cache_sweep(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, merge({kModelOptions, kSamplerOptions, kPromptOptions,
                                          {"caches", "points", "targets", "cache-warmup", "cache-max-skips", "json"}}),
                            {"overwrite", "no-progress"});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  std::vector<harness::CacheKind> kinds;
  for (const auto& c : split_list(a.get("caches", "tdc,teacache,fbcache"))) {
    if (c != "tdc" && c != "teacache" && c != "fbcache") throw UsageError("--caches: unknown cache '" + c + "' (tdc, teacache, fbcache)");
    kinds.push_back(harness::cache_from_name(c));
  }
  if (kinds.empty()) throw UsageError("--caches is empty");
  const int points = int(a.get_int("points", 16, 2, 200));
  std::vector<double> targets;
  for (const auto& t : split_list(a.get("targets", "0.2,0.3,0.4,0.5,0.6"))) {
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (*end != '\0' || !(v >= 0 && v <= 1)) throw UsageError("--targets: '" + t + "' is not a skip rate in [0, 1]");
    targets.push_back(v);
  }
  const std::string json_path = a.get("json", "");
  SIXBIT_CHECK(json_path.empty() || a.has("overwrite") || !std::filesystem::exists(json_path), json_path,
               ": already exists; refusing to overwrite");
  harness::SweepSetup s;
  s.warmup = int(a.get_int("cache-warmup", 2, 0, 1000));
  s.max_skips = int(a.get_int("cache-max-skips", 3, 1, 1000));

  const harness::ModelBundle m = model_from_args(a);
  const SamplerOptions so = sampler_from_args(a, m);
  s.steps = so.steps, s.shift = so.shift, s.guidance = so.guidance, s.solver = so.solver, s.seed = so.seed, s.rgb = m.rgb_video();
  const std::vector<std::string> prompts = prompts_from_args(a, m.calibration_prompts);
  std::vector<model::Mat> contexts;
  for (const auto& p : prompts) contexts.push_back(m.encode(p));
  std::vector<double> thresholds;
  for (int i = 0; i < points; ++i) thresholds.push_back(1e-3 * std::pow(2.0 / 1e-3, double(i) / double(points - 1)));
  const auto ops = harness::make_backend("emulator");

  std::printf("sixbit cache-sweep: model %s (%s), %zu prompts, %d steps, warm-up %d, max consecutive skips %d\n",
              m.name.c_str(), m.source.c_str(), prompts.size(), so.steps, s.warmup, s.max_skips);
  if (!m.note.empty()) std::printf("note: %s\n", m.note.c_str());
  harness::Progress bar("cache runs", int64_t(prompts.size()) * (1 + int64_t(kinds.size()) * points), !a.has("no-progress"));
  const auto pts = harness::sweep_caches(m.cfg, m.weights, *ops, contexts, m.encode(""), s, kinds, thresholds, [&] { bar.tick(); });
  bar.finish();
  const auto env = harness::envelope_at(pts, kinds, targets);

  std::printf("\nat each skip rate, each cache's lowest error over thresholds reaching it (latent rel L2 | mean PSNR dB | threshold):\n%-10s", "skip >=");
  for (auto k : kinds) std::printf(" %-32s", harness::cache_name(k).c_str());
  std::printf(" best\n");
  std::vector<int> wins(kinds.size(), 0);
  nlohmann::json table = nlohmann::json::array();
  for (size_t t = 0; t < targets.size(); ++t) {
    std::printf("%-10.2f", targets[t]);
    int best = -1;
    nlohmann::json row = {{"skip_rate_at_least", targets[t]}};
    for (size_t k = 0; k < kinds.size(); ++k) {
      const auto& e = env[t][k];
      if (!e.reached) {
        std::printf(" %-32s", "not reached");
        row[harness::cache_name(e.kind)] = nullptr;
        continue;
      }
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.3e | %6.2f | %.3g", e.best.latent_rel_l2, e.best.mean_psnr_db, e.best.threshold);
      std::printf(" %-32s", cell);
      row[harness::cache_name(e.kind)] = {{"latent_rel_l2", e.best.latent_rel_l2}, {"mean_psnr_db", e.best.mean_psnr_db},
                                          {"threshold", e.best.threshold}, {"skip_rate", e.best.skip_rate}};
      if (best < 0 || e.best.latent_rel_l2 < env[t][size_t(best)].best.latent_rel_l2) best = int(k);
    }
    std::printf(" %s\n", best < 0 ? "-" : harness::cache_name(kinds[size_t(best)]).c_str());
    if (best >= 0) ++wins[size_t(best)];
    row["best"] = best < 0 ? nlohmann::json(nullptr) : nlohmann::json(harness::cache_name(kinds[size_t(best)]));
    table.push_back(row);
  }
  std::printf("lowest error at equal skip rate:");
  for (size_t k = 0; k < kinds.size(); ++k) std::printf(" %s %d/%zu", harness::cache_name(kinds[k]).c_str(), wins[k], targets.size());
  std::printf("\n");
  if (!json_path.empty()) {
    const nlohmann::json j = {{"kind", "sixbit.cache_sweep"}, {"model", m.name}, {"prompts", prompts}, {"steps", so.steps},
                              {"warmup", s.warmup}, {"max_skips", s.max_skips}, {"points", harness::sweep_to_json(pts)},
                              {"table", table}};
    const std::string text = j.dump(1) + "\n";
    io::write_file_bytes(json_path, std::vector<uint8_t>(text.begin(), text.end()), a.has("overwrite"));
  }
  return 0;
}

}  // namespace sixbit::cli
