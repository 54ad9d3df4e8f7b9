// sixbit/harness/tdc/sweep.hpp: residual caches compared at equal skip rate (`sixbit cache-sweep`).
//
// Each cache runs over a grid of thresholds on the same prompts and seeds, in full precision (so only caching
// differs from the reference: the uncached full-precision run). Per point: skip rate (blocks skipped / blocks of
// all forwards), FLOP reduction, and the error of the final output against the uncached run (relative L2 of the
// latent, mean PSNR of the video). At a target skip rate a method's quality is its best point reaching at least
// that rate (the lower envelope of its error over the grid); the method with the lower error holds quality better.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "harness/engine/engine.hpp"

namespace sixbit::harness {

struct SweepPoint {
  CacheKind kind = CacheKind::kNone;
  double threshold = 0;
  double skip_rate = 0;       // over all prompts
  double flop_reduction = 1;  // uncached FLOPs / cached FLOPs (overheads included)
  double latent_rel_l2 = 0;   // mean over prompts
  double mean_psnr_db = 0;    // mean over prompts of the video's mean PSNR (frames capped at 100 dB)
};

struct SweepSetup {
  int steps = 10;
  double shift = 3.0, guidance = 4.0;
  sampler::Solver solver = sampler::Solver::kEuler;
  uint64_t seed = 1;  // prompt i: seed + i
  int warmup = 2, max_skips = 3;
  bool rgb = false;   // the output is an RGB video (else latent false colour)
};

std::vector<SweepPoint> sweep_caches(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops,
                                     const std::vector<model::Mat>& contexts, const model::Mat& uncond,
                                     const SweepSetup& setup, const std::vector<CacheKind>& kinds,
                                     const std::vector<double>& thresholds, const std::function<void()>& on_run = {});

struct EnvelopeEntry {
  CacheKind kind = CacheKind::kNone;
  bool reached = false;  // some threshold reached the target skip rate
  SweepPoint best;       // the lowest-error point with skip_rate >= target
};
// For each target, one entry per kind (in `kinds` order).
std::vector<std::vector<EnvelopeEntry>> envelope_at(const std::vector<SweepPoint>& points, const std::vector<CacheKind>& kinds,
                                                    const std::vector<double>& targets);

nlohmann::json sweep_to_json(const std::vector<SweepPoint>& points);

}  // namespace sixbit::harness
