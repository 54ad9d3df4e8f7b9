// Activation statistics of the reference DiT with seeded synthetic weights over a whole sampling run: does the
// residual stream stay finite and of a sane size across all blocks and all steps, and do the synthetic outlier
// channels stay outliers? (issue 4; results and the commands used are recorded in docs/dit.md, "Synthetic weight
// statistics").
//
//   build/experiments/dit_activation_stats [--preset wan2.1-1.3b] [--layers N] [--latent F,H,W] [--steps 50]
//       [--solver unipc] [--shift 5] [--guidance 5] [--seed 1] [--cond-tokens 32] [--uncond-tokens 16]
//       [--json OUT.json]
//
// Per step, CFG pass and block it records over the residual stream after the block: RMS, max |x|, the RMS and max
// |x| of the outlier channels (model::outlier_channels), and the smallest ratio of an outlier channel's RMS to the
// median channel RMS; it prints a summary per block and the trajectory's latent and velocity RMS per step.
// Contexts are N(0, 1) [n, text_dim] (a stand-in for umT5 output; no real text encoder here).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sm = sixbit::model;
namespace ss = sixbit::sampler;

namespace {

struct BlockStats {
  double rms = 0, max_abs = 0, out_rms = 0, out_max = 0, min_ratio = 0;
  int64_t nonfinite = 0;
};

BlockStats stats(const sm::Mat& x, const std::vector<int>& outliers) {
  BlockStats s;
  std::vector<double> ch(size_t(x.cols), 0.0);
  double total = 0;
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c = 0; c < x.cols; ++c) {
      const double v = x.row(r)[c];
      if (!std::isfinite(v)) {
        ++s.nonfinite;
        continue;
      }
      ch[size_t(c)] += v * v;
      total += v * v;
      s.max_abs = std::max(s.max_abs, std::fabs(v));
    }
  s.rms = std::sqrt(total / double(x.rows * x.cols));
  for (double& v : ch) v = std::sqrt(v / double(x.rows));
  std::vector<double> sorted = ch;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double median = sorted[sorted.size() / 2];
  double out_sq = 0;
  s.min_ratio = INFINITY;
  for (int c : outliers) {
    out_sq += ch[size_t(c)] * ch[size_t(c)];
    s.min_ratio = std::min(s.min_ratio, ch[size_t(c)] / median);
    for (int64_t r = 0; r < x.rows; ++r) s.out_max = std::max(s.out_max, double(std::fabs(x.row(r)[c])));
  }
  s.out_rms = std::sqrt(out_sq / double(outliers.size()));
  return s;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s / double(v.size()));
}

}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen when redirected
  std::string preset = "wan2.1-1.3b", solver = "unipc", json_path;
  int layers = 0, steps = 50, cond_tokens = 32, uncond_tokens = 16, lf = 3, lh = 16, lw = 16;
  double shift = 5.0, guidance = 5.0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    SIXBIT_CHECK(i + 1 < argc, "option ", a, " needs a value");
    const std::string v = argv[++i];
    if (a == "--preset") preset = v;
    else if (a == "--layers") layers = std::stoi(v);
    else if (a == "--latent") SIXBIT_CHECK(std::sscanf(v.c_str(), "%d,%d,%d", &lf, &lh, &lw) == 3, "--latent F,H,W");
    else if (a == "--steps") steps = std::stoi(v);
    else if (a == "--solver") solver = v;
    else if (a == "--shift") shift = std::stod(v);
    else if (a == "--guidance") guidance = std::stod(v);
    else if (a == "--seed") seed = std::stoull(v);
    else if (a == "--cond-tokens") cond_tokens = std::stoi(v);
    else if (a == "--uncond-tokens") uncond_tokens = std::stoi(v);
    else if (a == "--json") json_path = v;
    else SIXBIT_CHECK(false, "unknown option ", a);
  }
  sm::DitConfig cfg = sm::preset(preset);
  if (layers > 0) cfg.num_layers = layers;
  cfg.latent_frames = lf, cfg.latent_height = lh, cfg.latent_width = lw;
  cfg.validate();
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  std::printf("%s dims (dim %d, ffn %d, %d heads, %d layers), latent [%d, %d, %d, %d] = %lld tokens, %s %d steps, "
              "shift %g, CFG %g, seed %llu\n", preset.c_str(), cfg.dim, cfg.ffn_dim, cfg.num_heads, cfg.num_layers,
              cfg.in_dim, lf, lh, lw, static_cast<long long>(cfg.tokens()), solver.c_str(), steps, shift, guidance,
              static_cast<unsigned long long>(seed));
  const sm::Weights w = sm::synthetic_weights(cfg, seed);
  const std::vector<int> outliers = sm::outlier_channels(cfg, seed);
  std::printf("weights ready (%.0f s); %zu outlier channels\n", secs(), outliers.size());
  sm::Mat cond(cond_tokens, cfg.text_dim), uncond(uncond_tokens, cfg.text_dim);
  cond.v = sm::gaussian_normals(seed ^ sm::fnv1a64("stats.cond"), int64_t(cond.v.size()));
  uncond.v = sm::gaussian_normals(seed ^ sm::fnv1a64("stats.uncond"), int64_t(uncond.v.size()));

  // records[step][pass][block]
  std::vector<std::vector<std::vector<BlockStats>>> rec(size_t(steps), std::vector<std::vector<BlockStats>>(2));
  std::vector<double> latent_rms, velocity_rms[2];
  sm::ReferenceOps ops;
  auto vel = [&](const std::vector<float>& x, const ss::StepInfo& info) {
    if (info.cond) latent_rms.push_back(rms(x));
    auto& r = rec[size_t(info.step)][info.cond ? 0 : 1];
    std::vector<float> v = sm::dit_forward(cfg, w, x, info.t, info.cond ? cond : uncond, ops,
                                           [&](int, const sm::Mat& h) { r.push_back(stats(h, outliers)); });
    velocity_rms[info.cond ? 0 : 1].push_back(rms(v));
    if (info.cond && (info.step % 10 == 0 || info.step == steps - 1))
      std::printf("  step %2d t %4.0f: latent RMS %.3f, v_cond RMS %.3f (%.0f s)\n", info.step, info.t, rms(x),
                  rms(v), secs());
    return v;
  };
  const int64_t n = int64_t(cfg.in_dim) * lf * lh * lw;
  const std::vector<float> out = ss::sample_cfg(ss::solver_from_name(solver), ss::initial_noise(seed, n),
                                                ss::flow_schedule(steps, shift), guidance, vel);
  latent_rms.push_back(rms(out));

  int64_t nonfinite = 0;
  for (float x : out) nonfinite += !std::isfinite(x);
  std::printf("\nper block over %d steps x 2 passes: residual stream after the block\n", steps);
  std::printf("%5s %9s %9s %9s %9s %9s %9s %10s\n", "block", "RMS min", "RMS max", "max|x|", "out RMS", "out max",
              "ratio min", "nonfinite");
  for (int b = 0; b < cfg.num_layers; ++b) {
    double rmin = INFINITY, rmax = 0, mx = 0, ormax = 0, omax = 0, ratio = INFINITY;
    int64_t nf = 0;
    for (const auto& st : rec)
      for (const auto& pass : st) {
        const BlockStats& s = pass[size_t(b)];
        rmin = std::min(rmin, s.rms), rmax = std::max(rmax, s.rms), mx = std::max(mx, s.max_abs);
        ormax = std::max(ormax, s.out_rms), omax = std::max(omax, s.out_max), ratio = std::min(ratio, s.min_ratio);
        nf += s.nonfinite;
      }
    nonfinite += nf;
    std::printf("%5d %9.3f %9.3f %9.2f %9.3f %9.2f %9.2f %10lld\n", b, rmin, rmax, mx, ormax, omax, ratio,
                static_cast<long long>(nf));
  }
  // The same over steps, conditional pass: RMS and outlier-channel max after selected blocks at selected steps.
  std::vector<int> sel_steps, sel_blocks;
  for (int st : {0, 10, 20, 30, 40, steps - 1})
    if (st < steps && (sel_steps.empty() || st > sel_steps.back())) sel_steps.push_back(st);
  for (int b : {0, 1, 2, 5, 10, 15, 20, 25, 30, 35, cfg.num_layers - 1})
    if (b < cfg.num_layers && (sel_blocks.empty() || b > sel_blocks.back())) sel_blocks.push_back(b);
  for (int what = 0; what < 2; ++what) {
    std::printf("\n%s after block (rows) at step (columns), conditional pass\n%5s", what ? "outlier max|x|" : "RMS", "");
    for (int st : sel_steps) std::printf(" %8d", st);
    std::printf("\n");
    for (int b : sel_blocks) {
      std::printf("%5d", b);
      for (int st : sel_steps) {
        const BlockStats& x = rec[size_t(st)][0][size_t(b)];
        std::printf(" %8.3f", what ? x.out_max : x.rms);
      }
      std::printf("\n");
    }
  }
  std::printf("\nlatent RMS by step (0, 10, 20, 30, 40, result):");
  for (size_t i : {size_t(0), size_t(10), size_t(20), size_t(30), size_t(40), latent_rms.size() - 1})
    if (i < latent_rms.size()) std::printf(" %.3f", latent_rms[i]);
  std::printf("\nvelocity RMS cond / uncond, min..max over steps: %.3f..%.3f / %.3f..%.3f\n",
              *std::min_element(velocity_rms[0].begin(), velocity_rms[0].end()),
              *std::max_element(velocity_rms[0].begin(), velocity_rms[0].end()),
              *std::min_element(velocity_rms[1].begin(), velocity_rms[1].end()),
              *std::max_element(velocity_rms[1].begin(), velocity_rms[1].end()));
  std::printf("non-finite values anywhere: %lld; total %.0f s\n", static_cast<long long>(nonfinite), secs());

  if (!json_path.empty()) {
    nlohmann::json j;
    j["config"] = {{"preset", preset}, {"layers", cfg.num_layers}, {"latent", {lf, lh, lw}}, {"steps", steps},
                   {"solver", solver}, {"shift", shift}, {"guidance", guidance}, {"seed", seed}};
    j["latent_rms"] = latent_rms;
    j["velocity_rms"] = {velocity_rms[0], velocity_rms[1]};
    for (size_t s = 0; s < rec.size(); ++s)
      for (int p = 0; p < 2; ++p)
        for (size_t b = 0; b < rec[s][size_t(p)].size(); ++b) {
          const BlockStats& x = rec[s][size_t(p)][b];
          j["blocks"].push_back({{"step", s}, {"cond", p == 0}, {"block", b}, {"rms", x.rms}, {"max", x.max_abs},
                                 {"outlier_rms", x.out_rms}, {"outlier_max", x.out_max}, {"ratio_min", x.min_ratio},
                                 {"nonfinite", x.nonfinite}});
        }
    std::ofstream(json_path) << j.dump(1) << "\n";
    std::printf("wrote %s\n", json_path.c_str());
  }
  return nonfinite == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dit_activation_stats: %s\n", e.what());
  return 1;
}
