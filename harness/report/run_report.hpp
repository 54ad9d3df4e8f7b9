// sixbit/harness/report/run_report.hpp: what `sixbit run` measured, as the JSON report (docs/report.schema.json),
// the table on stdout and the plots. Everything in report.json is a function of the inputs and the seed: wall
// times go to timing.json, so two identical runs give identical reports (tests/cli/run_cli_test.cpp).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/engine/engine.hpp"
#include "harness/predictor/calibration.hpp"
#include "metrics/video_metrics.hpp"

namespace sixbit::harness {

// One prompt's video: the run against the full-precision run with the same seed.
struct VideoResult {
  std::string prompt;
  uint64_t seed = 0;
  std::vector<ForwardRecord> records;     // the run's forwards for this video (2 per step, cond first)
  metrics::VideoFidelity fidelity;        // PSNR, SSIM per frame and their means
  bool ssim_applies = true;
  std::string ssim_note;                  // why not, when it does not
  double flicker_run = 0, flicker_full = 0;
  std::vector<double> latent_rel_l2;      // per step: ||x_run - x_full|| / ||x_full|| after the step
  std::vector<double> velocity_rel_l2;    // per step: the conditional pass's velocity, run against full
  nlohmann::json adherence;               // condition adherence (small model) or why not
  std::vector<std::string> files;
};

struct RunSummary {
  nlohmann::json config;           // what was asked for (model, backend, policy, allocation, cache, sampler, ...)
  int num_layers = 0;
  EngineCounters run, full;        // the run, and the full-precision runs of the same videos
  Residency residency;
  MemoryReport memory;             // the run's policy
  int64_t cache_bytes = 0;         // the residual cache's peak, fp32, both passes (activation memory)
  std::vector<VideoResult> videos;
  nlohmann::json predictor;        // source, fit summary (or null for static policies)
  std::vector<CalibrationSample> calibration;  // when calibrated on the fly (the d-vs-s scatter)
  std::string out_dir;
};

// One character per block: '4' W4A4, '8' W8A8, 'm' W4A8, 'F' full, '.' skipped.
char precision_code(const BlockStep& b);

nlohmann::json run_report_json(const RunSummary& s);
void print_run_summary(std::FILE* out, const RunSummary& s);
// precision_heatmap.png, error_per_step.png, and d_vs_s.png when calibration samples exist; returns the paths.
std::vector<std::string> write_run_plots(const RunSummary& s, bool overwrite);

}  // namespace sixbit::harness
