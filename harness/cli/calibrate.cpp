// `sixbit calibrate`: measure d_b(t) and s_b(t) (harness/predictor/predictor.hpp) over prompts and every step, fit
// s ~ a*d + c globally and per block, report Pearson r and R^2, save the predictor, plot the scatter.
#include <cstdio>
#include <filesystem>

#include "common/check.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/backends.hpp"
#include "harness/cli/common_options.hpp"
#include "harness/plot/plot.hpp"
#include "harness/predictor/calibration.hpp"
#include "harness/report/progress.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::cli {

const char* const kCalibrateUsage =
    "usage: sixbit calibrate [options]\n"
    "Runs full-precision sampling over prompts; at every step, both CFG passes, each block runs once more from the\n"
    "same input with its linears W4A4. Records d = sum|out - in| / sum|in| and s = sum|out_w4a4 - out| / sum|out|\n"
    "per block and step, fits s ~ a*d + c (global and per block) and prints Pearson r and R^2.\n"
    "  --model SPEC --model-config SPEC --weight-seed N   as for `sixbit run`\n"
    "  --prompt TEXT | --prompts FILE   default: the model's calibration prompts (disjoint from run's default)\n"
    "  --steps N --shift X --guidance X --solver euler|unipc --seed N   sampler (prompt i uses seed + i)\n"
    "  --backend NAME        emulator (default) or cuda: the probe needs quantized linears\n"
    "  --recipe NAME         NVFP4 recipe of the probe: te (default), modelopt, torchao, cutlass\n"
    "  --out DIR             default sixbit-calibration; refused if it exists unless --overwrite\n"
    "  --no-progress         no progress bar on stderr\n"
    "writes DIR/predictor.json (for `sixbit run --predictor`), DIR/samples.json (every d, s), DIR/d_vs_s.png.\n";

int cmd_calibrate(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, merge({kModelOptions, kSamplerOptions, kPromptOptions, {"backend", "recipe", "out"}}),
                            {"overwrite", "no-progress"});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  const std::string backend = choice(a, "backend", "emulator", harness::backend_names());
  if (!harness::backend_runs_quantized(backend)) throw UsageError("--backend " + backend + " cannot run the W4A4 probe");
  const std::string recipe = choice(a, "recipe", "te", {"te", "modelopt", "torchao", "cutlass"});
  const std::string out = a.get("out", "sixbit-calibration");
  const bool overwrite = a.has("overwrite");
  check_out_dir(out, overwrite);

  const harness::ModelBundle m = model_from_args(a);
  const SamplerOptions so = sampler_from_args(a, m);
  std::printf("sixbit calibrate: model %s (%s)\n", m.name.c_str(), m.source.c_str());
  if (!m.note.empty()) std::printf("note: %s\n", m.note.c_str());
  const std::vector<std::string> prompts = prompts_from_args(a, m.calibration_prompts);
  std::vector<model::Mat> contexts;
  for (const auto& p : prompts) contexts.push_back(m.encode(p));
  create_out_dir(out);
  harness::BackendOptions bo;
  bo.recipe = quant::nvfp4_recipe_from_name(recipe);
  const auto ops = harness::make_backend(backend, bo);

  harness::CalibrationOptions co;
  co.steps = so.steps, co.shift = so.shift, co.guidance = so.guidance, co.solver = so.solver, co.seed = so.seed;
  co.model_name = m.name + " (" + m.source + ")";
  co.recipe = recipe;
  harness::Progress bar("calibration forwards (" + std::to_string(prompts.size()) + " prompts)",
                        int64_t(prompts.size()) * 2 * so.steps, !a.has("no-progress"));
  harness::CalibrationResult r = harness::calibrate(m.cfg, m.weights, *ops, contexts, m.encode(""), co,
                                                    [&](const auto&, const auto&, const auto&) { bar.tick(); });
  bar.finish();
  r.predictor.calibration["prompt_texts"] = prompts;

  const auto& g = r.predictor.global;
  std::printf("%zu prompts x %d steps x 2 passes x %d blocks = %lld samples\n", prompts.size(), so.steps,
              m.cfg.num_layers, (long long)g.n);
  std::printf("\n%-8s %11s %11s %8s %8s %11s %11s %11s\n", "fit", "a", "c", "r", "R^2", "d min", "d max", "s mean");
  auto row = [](const char* name, const harness::LinearFit& f) {
    std::printf("%-8s %11.4e %11.4e %8.4f %8.4f %11.4e %11.4e %11.4e\n", name, f.a, f.c, f.r, f.r2, f.d_min, f.d_max, f.s_mean);
  };
  row("global", g);
  for (size_t b = 0; b < r.predictor.blocks.size(); ++b) row(("block " + std::to_string(b)).c_str(), r.predictor.blocks[b]);

  namespace fs = std::filesystem;
  const std::string pred_path = (fs::path(out) / "predictor.json").string();
  harness::save_predictor(r.predictor, pred_path, overwrite);
  const std::string samples = harness::samples_to_json(r.samples).dump() + "\n";
  io::write_file_bytes((fs::path(out) / "samples.json").string(), std::vector<uint8_t>(samples.begin(), samples.end()), overwrite);
  plot::ScatterPlot sp;
  sp.title = "d vs W4A4 sensitivity s, " + m.name + " (" + std::to_string(prompts.size()) + " prompts)";
  sp.x_label = "d = sum|out - in| / sum|in|";
  sp.y_label = "s = sum|out_w4a4 - out| / sum|out|";
  for (const auto& smp : r.samples) {
    sp.x.push_back(smp.d);
    sp.y.push_back(smp.s);
    sp.group.push_back(smp.block);
  }
  for (int b = 0; b < m.cfg.num_layers; ++b) sp.group_names.push_back("block " + std::to_string(b));
  plot::write_plot_png((fs::path(out) / "d_vs_s.png").string(), plot::plot_scatter(sp), overwrite);
  std::printf("\nwrote %s, %s/samples.json, %s/d_vs_s.png\n", pred_path.c_str(), out.c_str(), out.c_str());
  return 0;
}

}  // namespace sixbit::cli
