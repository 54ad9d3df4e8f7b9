// sixbit/harness/tdc/sweep.cpp: see sweep.hpp.
#include "harness/tdc/sweep.hpp"

#include <cmath>

#include "harness/report/video_out.hpp"
#include "metrics/video_metrics.hpp"

namespace sixbit::harness {

namespace {
double rel_l2(const std::vector<float>& x, const std::vector<float>& ref) {
  double d = 0, r = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = double(x[i]) - double(ref[i]);
    d += e * e;
    r += double(ref[i]) * double(ref[i]);
  }
  return r > 0 ? std::sqrt(d / r) : 0.0;
}
}  // namespace

std::vector<SweepPoint> sweep_caches(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops,
                                     const std::vector<model::Mat>& contexts, const model::Mat& uncond,
                                     const SweepSetup& s, const std::vector<CacheKind>& kinds,
                                     const std::vector<double>& thresholds, const std::function<void()>& on_run) {
  Engine full(cfg, w, ops, EngineOptions{});
  std::vector<std::vector<float>> ref;
  std::vector<metrics::Video> ref_video;
  std::vector<FalseColourMap> maps;
  for (size_t i = 0; i < contexts.size(); ++i) {
    ref.push_back(sample_video(full, cfg, s.solver, s.steps, s.shift, s.guidance, s.seed + i, contexts[i], uncond));
    maps.push_back(false_colour_map(cfg, ref.back()));
    ref_video.push_back(latent_video(cfg, ref.back(), s.rgb, maps.back()));
    if (on_run) on_run();
  }
  const double full_flops = full.counters().flops;
  std::vector<SweepPoint> points;
  for (CacheKind k : kinds)
    for (double th : thresholds) {
      EngineOptions o;
      o.cache = {k, th, s.warmup, s.max_skips};
      Engine e(cfg, w, ops, o);
      SweepPoint p;
      p.kind = k;
      p.threshold = th;
      for (size_t i = 0; i < contexts.size(); ++i) {
        const auto out = sample_video(e, cfg, s.solver, s.steps, s.shift, s.guidance, s.seed + i, contexts[i], uncond);
        p.latent_rel_l2 += rel_l2(out, ref[i]) / double(contexts.size());
        const metrics::Video v = latent_video(cfg, out, s.rgb, maps[i]);
        p.mean_psnr_db += metrics::mean_psnr_db(metrics::psnr_per_frame(v, ref_video[i])) / double(contexts.size());
        if (on_run) on_run();
      }
      p.skip_rate = e.counters().skip_rate();
      p.flop_reduction = e.counters().flops > 0 ? full_flops / e.counters().flops : 0.0;
      points.push_back(p);
    }
  return points;
}

std::vector<std::vector<EnvelopeEntry>> envelope_at(const std::vector<SweepPoint>& points, const std::vector<CacheKind>& kinds,
                                                    const std::vector<double>& targets) {
  std::vector<std::vector<EnvelopeEntry>> out;
  for (double t : targets) {
    std::vector<EnvelopeEntry> row;
    for (CacheKind k : kinds) {
      EnvelopeEntry e;
      e.kind = k;
      for (const SweepPoint& p : points)
        if (p.kind == k && p.skip_rate >= t && (!e.reached || p.latent_rel_l2 < e.best.latent_rel_l2)) {
          e.best = p;
          e.reached = true;
        }
      row.push_back(e);
    }
    out.push_back(row);
  }
  return out;
}

nlohmann::json sweep_to_json(const std::vector<SweepPoint>& points) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : points)
    a.push_back({{"cache", cache_name(p.kind)}, {"threshold", p.threshold}, {"skip_rate", p.skip_rate},
                 {"flop_reduction", p.flop_reduction}, {"latent_rel_l2", p.latent_rel_l2}, {"mean_psnr_db", p.mean_psnr_db}});
  return a;
}

}  // namespace sixbit::harness
