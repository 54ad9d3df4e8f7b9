// `sixbit run`: the README's main job. The paper's system end to end on the CPU: the model (the shipped small model,
// the synthetic tiny preset until it exists), prompts, a backend, a precision policy driven by the predictor
// (threshold or bit budget), the residual cache; then the same videos at full precision with the same seeds, and a
// report: per-step precision and skip map, achieved bits, weight bytes vs bf16, FLOPs vs the full-precision run,
// per-frame PSNR/SSIM, VBench temporal flickering, the paper's targets (docs/harness.md, docs/report.schema.json).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/check.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/backends.hpp"
#include "harness/cli/common_options.hpp"
#include "harness/report/adherence.hpp"
#include "harness/report/progress.hpp"
#include "harness/report/run_report.hpp"
#include "harness/report/video_out.hpp"
#include "reference/io/image_io.hpp"
#include "reference/model/context.hpp"

namespace sixbit::cli {

const char* const kRunUsage =
    "usage: sixbit run [options]\n"
    "Generates video(s) with the quantized DiT (predictor-driven NVFP4/INT8 per block and step, Temporal Delta\n"
    "Cache), the same video(s) in full precision with the same seed, and a report against the paper's targets.\n"
    "model and prompts:\n"
    "  --model SPEC          default: models/sixbit-small.safetensors if present, else the synthetic tiny preset;\n"
    "                        PRESET (tiny|small|wan2.1-1.3b|wan2.1-14b), CONFIG.json, or FILE.safetensors\n"
    "  --model-config SPEC   PRESET or CONFIG.json of a plain Wan2.1 checkpoint given as --model FILE\n"
    "  --weight-seed N       synthetic weights' seed (default 1)\n"
    "  --prompt TEXT | --prompts FILE (one per line)   default: the model's own example prompt\n"
    "  --context FILE        instead of prompts: a context embedding [n, text_dim] (.npy or safetensors)\n"
    "  --uncond-context FILE the unconditional pass's context with --context (default: the empty prompt's)\n"
    "sampler: --steps N --shift X --guidance X --solver euler|unipc (defaults: the model's), --seed N (default 1;\n"
    "  prompt i uses seed + i)\n"
    "precision:\n"
    "  --backend NAME        emulator (default), reference (full precision only), cuda, cuda-verify (CUDA builds)\n"
    "  --recipe NAME         NVFP4 recipe: te (default), modelopt, torchao, cutlass\n"
    "  --policy NAME         w4a4-w4a8 (default; (b) NVFP4 weights, NVFP4 or INT8 activations), w4a4-w8a8 ((a)\n"
    "                        both weight copies where a block can switch), or static full, w8a8, w4a4, w4a8\n"
    "  --budget BITS         target average activation bits in [4, 8] (default 6): cheapest blocks get NVFP4\n"
    "  --threshold S         instead: NVFP4 where the predicted sensitivity is below S (0: all INT8)\n"
    "  --predictor FILE      from `sixbit calibrate` (default: shipped with the model, else calibrated on the fly\n"
    "                        on the model's first calibration prompt, at most 10 steps)\n"
    "  --predictor-fit block|global   per-block fits (default) or the global one\n"
    "cache:\n"
    "  --cache NAME          tdc (default), none, teacache, fbcache\n"
    "  --cache-threshold X   skip criterion threshold (default 0.1; 0 never skips)\n"
    "  --cache-warmup N      first steps always computed (default 2)\n"
    "  --cache-max-skips N   consecutive skips before a forced compute (default 3)\n"
    "output:\n"
    "  --out DIR             default sixbit-run; refused if it exists unless --overwrite\n"
    "  --no-progress         no progress bar on stderr\n"
    "writes DIR/report.json (schema: docs/report.schema.json), timing.json (wall times), prompt_NN/frames/*.png,\n"
    "prompt_NN/{run,full}.gif, precision_heatmap.png, error_per_step.png, d_vs_s.png (when calibrated on the fly).\n";

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double rel_l2(const std::vector<float>& x, const std::vector<float>& ref) {
  double d = 0, r = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = double(x[i]) - double(ref[i]);
    d += e * e;
    r += double(ref[i]) * double(ref[i]);
  }
  return r > 0 ? std::sqrt(d / r) : (d > 0 ? INFINITY : 0.0);
}

// The conditional pass's inputs and velocities per step, and the final latent.
struct Trajectory {
  std::vector<std::vector<float>> x, v;
  std::vector<float> out;
};

Trajectory sample(harness::Engine& e, const harness::ModelBundle& m, const SamplerOptions& s, uint64_t seed,
                  const model::Mat& cond, const model::Mat& uncond, harness::Progress& bar) {
  Trajectory t;
  t.out = harness::sample_video(e, m.cfg, s.solver, s.steps, s.shift, s.guidance, seed, cond, uncond,
                                [&](const std::vector<float>& x, const sampler::StepInfo& info, const std::vector<float>& v) {
                                  if (info.cond) t.x.push_back(x), t.v.push_back(v);
                                  bar.tick();
                                });
  return t;
}

metrics::VideoFidelity fidelity_without_ssim(const metrics::Video& run, const metrics::Video& full) {
  metrics::VideoFidelity f;
  f.psnr_db = metrics::psnr_per_frame(run, full);
  f.mean_psnr_db = metrics::mean_psnr_db(f.psnr_db);
  double mse = 0;  // pooled over every frame: the mean of the per-frame MSEs (equal frame sizes)
  for (double p : f.psnr_db) mse += std::isinf(p) ? 0.0 : std::pow(10.0, -p / 10.0);
  mse /= double(f.psnr_db.size());
  f.pooled_psnr_db = mse > 0 ? -10.0 * std::log10(mse) : INFINITY;
  return f;
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  const auto t_start = std::chrono::steady_clock::now();
  const Args a = parse_args(argv,
                            merge({kModelOptions, kSamplerOptions, kPromptOptions,
                                   {"backend", "recipe", "policy", "threshold", "budget", "predictor", "predictor-fit",
                                    "cache", "cache-threshold", "cache-warmup", "cache-max-skips", "out", "context",
                                    "uncond-context"}}),
                            {"overwrite", "no-progress"});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  // Every option value is checked before any work.
  const std::string backend = choice(a, "backend", "emulator", harness::backend_names());
  const std::string recipe = choice(a, "recipe", "te", {"te", "modelopt", "torchao", "cutlass"});
  const harness::Policy policy = harness::policy_from_name(
      choice(a, "policy", "w4a4-w4a8", {"w4a4-w8a8", "w4a4-w4a8", "full", "w8a8", "w4a4", "w4a8"}));
  const bool dynamic = harness::policy_is_dynamic(policy);
  if (a.has("threshold") && a.has("budget")) throw UsageError("give --threshold or --budget, not both");
  for (const char* o : {"threshold", "budget", "predictor", "predictor-fit"})
    if (!dynamic && a.has(o)) throw UsageError(std::string("--") + o + " applies to the switching policies (w4a4-w8a8, w4a4-w4a8) only");
  harness::Allocation alloc;
  if (a.has("threshold")) alloc = {harness::AllocationMode::kThreshold, a.get_double("threshold", 0, 0, 1e300)};
  else alloc = {harness::AllocationMode::kBudget, a.get_double("budget", 6.0, 4.0, 8.0)};
  const bool global_fit = choice(a, "predictor-fit", "block", {"block", "global"}) == "global";
  harness::CacheOptions cache;
  cache.kind = harness::cache_from_name(choice(a, "cache", "tdc", {"tdc", "none", "teacache", "fbcache"}));
  for (const char* o : {"cache-threshold", "cache-warmup", "cache-max-skips"})
    if (cache.kind == harness::CacheKind::kNone && a.has(o)) throw UsageError(std::string("--") + o + " needs a cache (--cache tdc|teacache|fbcache)");
  cache.threshold = a.get_double("cache-threshold", 0.1, 0.0, 1e300);
  cache.warmup = int(a.get_int("cache-warmup", 2, 0, 1000));
  cache.max_skips = int(a.get_int("cache-max-skips", 3, 1, 1000));
  if (a.has("context") && (a.has("prompt") || a.has("prompts"))) throw UsageError("give --context or prompts, not both");
  if (a.has("uncond-context") && !a.has("context")) throw UsageError("--uncond-context goes with --context");
  if (backend == "reference" && harness::policy_is_quantized(policy))
    throw UsageError("--backend reference runs full precision only: use --policy full, or --backend emulator");
  const std::string out = a.get("out", "sixbit-run");
  const bool overwrite = a.has("overwrite"), progress = !a.has("no-progress");
  check_out_dir(out, overwrite);

  const harness::ModelBundle m = model_from_args(a);
  const SamplerOptions so = sampler_from_args(a, m);
  std::printf("sixbit run: model %s (%s)\n", m.name.c_str(), m.source.c_str());
  if (!m.note.empty()) std::printf("note: %s\n", m.note.c_str());
  // Conditioning: prompts through the model's encoder, or a context embedding from a file (e.g. umT5 output).
  const std::string context_file = a.get("context", ""), uncond_file = a.get("uncond-context", "");
  std::vector<std::string> prompts;
  std::vector<model::Mat> contexts;
  if (!context_file.empty()) {
    contexts.push_back(model::load_context(context_file, m.cfg));
    prompts.push_back("(context " + context_file + ")");
  } else {
    prompts = prompts_from_args(a, m.default_prompts);
    for (const auto& p : prompts) contexts.push_back(m.encode(p));
  }
  const model::Mat uncond = uncond_file.empty() ? m.encode("") : model::load_context(uncond_file, m.cfg);
  const double t_load = seconds_since(t_start);

  harness::BackendOptions bo;
  bo.recipe = quant::nvfp4_recipe_from_name(recipe);
  const std::unique_ptr<model::DitOps> ops = harness::make_backend(backend, bo);
  const int n = m.cfg.num_layers;

  // The predictor: a file, the model's shipped one, or calibrated here on a calibration prompt (never the run's).
  harness::Predictor predictor;
  harness::RunSummary s;
  s.out_dir = out;
  s.num_layers = n;
  double t_calib = 0;
  if (dynamic) {
    const std::string path = a.get("predictor", m.predictor_path);
    if (!path.empty()) {
      predictor = harness::load_predictor(path, n);
      s.predictor = {{"source", path}};
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      harness::CalibrationOptions co;
      // At most 10 steps: the fit s ~ a d + c does not depend on the step count (d_first is taken at t ~ 1000 for
      // any count) and a calibration step costs about 1.5 full forwards per pass.
      co.steps = std::min(so.steps, 10), co.shift = so.shift, co.guidance = so.guidance, co.solver = so.solver;
      co.seed = so.seed + 1000;  // not the run's noise either
      co.model_name = m.name + " (" + m.source + ")";
      co.recipe = recipe;
      harness::Progress bar("calibrating the predictor (" + m.calibration_prompts.front() + ")", 2 * co.steps, progress);
      auto r = harness::calibrate(m.cfg, m.weights, *ops, {m.encode(m.calibration_prompts.front())}, uncond, co,
                                  [&](const auto&, const auto&, const auto&) { bar.tick(); });
      bar.finish();
      predictor = std::move(r.predictor);
      s.calibration = std::move(r.samples);
      s.predictor = {{"source", "calibrated on the fly: 1 prompt (\"" + m.calibration_prompts.front() + "\"), " +
                                    std::to_string(co.steps) + " steps, seed " + std::to_string(co.seed) +
                                    "; `sixbit calibrate` fits on more"}};
      t_calib = seconds_since(t0);
    }
    predictor.use_global = global_fit;
    s.predictor["fit"] = global_fit ? "global" : "block";
    s.predictor["global"] = harness::fit_to_json(predictor.global);
    s.predictor["blocks"] = nlohmann::json::array();
    for (const auto& f : predictor.blocks) s.predictor["blocks"].push_back(harness::fit_to_json(f));
  }

  create_out_dir(out);  // every input is valid by now: a refused run leaves nothing behind

  harness::EngineOptions ro;
  ro.policy = policy;
  ro.allocation = alloc;
  ro.predictor = dynamic ? &predictor : nullptr;
  ro.cache = cache;
  s.residency = harness::plan_residency(policy, ro.predictor, alloc, n);
  if (policy == harness::Policy::kW4A4orW8A8) ro.residency = s.residency;
  s.memory = harness::account_memory(m.cfg, policy, s.residency, m.encoder_params(), "prompt encoder embeddings");
  harness::Engine run(m.cfg, m.weights, *ops, ro);
  harness::Engine full(m.cfg, m.weights, *ops, harness::EngineOptions{});

  s.config = {{"model", {{"name", m.name}, {"source", m.source}, {"trained", m.trained}, {"note", m.note},
                         {"dim", m.cfg.dim}, {"blocks", n}, {"tokens", m.cfg.tokens()},
                         {"video", {m.cfg.out_dim, m.cfg.latent_frames, m.cfg.latent_height, m.cfg.latent_width}}}},
              {"backend", backend}, {"recipe", recipe}, {"policy", harness::policy_name(policy)},
              {"allocation", dynamic ? nlohmann::json{{"mode", alloc.mode == harness::AllocationMode::kBudget ? "budget" : "threshold"},
                                                      {"value", alloc.value}} : nlohmann::json(nullptr)},
              {"cache", {{"kind", harness::cache_name(cache.kind)}, {"threshold", cache.threshold},
                         {"warmup", cache.warmup}, {"max_skips", cache.max_skips}}},
              {"sampler", {{"steps", so.steps}, {"shift", so.shift}, {"guidance", so.guidance},
                           {"solver", std::string(sampler::solver_name(so.solver))}, {"seed", so.seed}}},
              {"prompts", prompts}};
  if (!context_file.empty()) s.config["context_file"] = context_file;

  const auto t_runs = std::chrono::steady_clock::now();
  double t_full = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const uint64_t seed = so.seed + i;
    harness::Progress bar_full("full precision, prompt " + std::to_string(i), 2 * so.steps, progress);
    const auto t0 = std::chrono::steady_clock::now();
    const size_t before = run.records().size();
    const Trajectory tf = sample(full, m, so, seed, contexts[i], uncond, bar_full);
    bar_full.finish();
    t_full += seconds_since(t0);
    harness::Progress bar_run(harness::policy_name(policy) + " + " + harness::cache_name(cache.kind) + ", prompt " + std::to_string(i),
                              2 * so.steps, progress);
    const Trajectory tr = sample(run, m, so, seed, contexts[i], uncond, bar_run);
    bar_run.finish();

    harness::VideoResult v;
    v.prompt = prompts[i];
    v.seed = seed;
    v.records.assign(run.records().begin() + long(before), run.records().end());
    for (size_t k = 0; k < tr.x.size(); ++k) {
      v.latent_rel_l2.push_back(rel_l2(k + 1 < tr.x.size() ? tr.x[k + 1] : tr.out, k + 1 < tf.x.size() ? tf.x[k + 1] : tf.out));
      v.velocity_rel_l2.push_back(rel_l2(tr.v[k], tf.v[k]));
    }
    const harness::FalseColourMap map = harness::false_colour_map(m.cfg, tf.out);
    const metrics::Video vr = harness::latent_video(m.cfg, tr.out, m.rgb_video(), map);
    const metrics::Video vf = harness::latent_video(m.cfg, tf.out, m.rgb_video(), map);
    v.ssim_applies = vr.height >= 11 && vr.width >= 11;
    if (v.ssim_applies) {
      v.fidelity = metrics::compare_videos(vr, vf);
    } else {
      v.fidelity = fidelity_without_ssim(vr, vf);
      v.ssim_note = "frames are " + std::to_string(vr.height) + "x" + std::to_string(vr.width) +
                    ", smaller than SSIM's 11x11 Gaussian window";
    }
    if (!m.rgb_video()) v.ssim_note += (v.ssim_note.empty() ? "" : "; ") + std::string("latent false colour (no decoder): "
                                      "channels 0-2 mapped by the full-precision run's range");
    v.flicker_run = metrics::temporal_flickering(vr);
    v.flicker_full = metrics::temporal_flickering(vf);
    v.adherence = context_file.empty() ? harness::condition_adherence(m, prompts[i], vr, vf)
                                       : nlohmann::json{{"status", "not applicable"}, {"reason", "context from a file, no prompt"}};
    char dir[32];
    std::snprintf(dir, sizeof dir, "prompt_%02zu", i);
    const std::string vdir = (std::filesystem::path(out) / dir).string();
    std::filesystem::create_directories(vdir);
    const int scale = harness::display_scale(vr);
    for (const auto& f : harness::write_video_files(vr, vdir, "run", scale, overwrite)) v.files.push_back(std::filesystem::relative(f, out).string());
    for (const auto& f : harness::write_video_files(vf, vdir, "full", scale, overwrite)) v.files.push_back(std::filesystem::relative(f, out).string());
    s.videos.push_back(std::move(v));
  }
  const double t_all_runs = seconds_since(t_runs);
  s.run = run.counters();
  s.full = full.counters();
  s.cache_bytes = 4 * s.run.peak_cache_floats;

  std::vector<std::string> plots = harness::write_run_plots(s, overwrite);
  nlohmann::json report = harness::run_report_json(s);
  for (auto& p : plots) p = std::filesystem::relative(p, out).string();
  report["plots"] = plots;
  const std::string text = report.dump(2) + "\n";
  io::write_file_bytes((std::filesystem::path(out) / "report.json").string(), std::vector<uint8_t>(text.begin(), text.end()), overwrite);
  const std::string kernels = ops->kernels_in_use();  // GPU backends: what they chose at run time
  const nlohmann::json timing = {
      {"note", "wall-clock seconds on this machine (not part of report.json, which is deterministic)"},
      {"threads", omp_get_max_threads()},
      {"model_and_prompts", t_load},
      {"calibration", t_calib},
      {"full_precision_runs", t_full},
      {"quantized_runs", t_all_runs - t_full},
      {"total", seconds_since(t_start)},
      {"kernels", kernels.empty() ? nlohmann::json(nullptr) : nlohmann::json(kernels)}};
  const std::string ttext = timing.dump(2) + "\n";
  io::write_file_bytes((std::filesystem::path(out) / "timing.json").string(), std::vector<uint8_t>(ttext.begin(), ttext.end()), overwrite);

  harness::print_run_summary(stdout, s);
  if (!kernels.empty()) std::printf("%s kernels: %s\n", backend.c_str(), kernels.c_str());
  std::printf("\nwrote %s/report.json, timing.json, %zu plot(s), %zu video(s) (frames + GIF) under %s/prompt_NN/\n",
              out.c_str(), plots.size(), s.videos.size(), out.c_str());
  return 0;
}

}  // namespace sixbit::cli
