// sixbit/harness/report/run_report.cpp: see run_report.hpp.
#include "harness/report/run_report.hpp"

#include <cmath>
#include <filesystem>

#include "common/check.hpp"
#include "harness/plot/plot.hpp"

namespace sixbit::harness {

using nlohmann::json;

char precision_code(const BlockStep& b) {
  if (b.skipped) return '.';
  switch (b.precision) {
    case model::LinearPrecision::kW4A4: return '4';
    case model::LinearPrecision::kW8A8: return '8';
    case model::LinearPrecision::kW4A8: return 'm';
    default: return 'F';
  }
}

namespace {

// JSON has no NaN or infinity: they become null (and the schema allows null exactly there).
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json nums(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

std::string forward_map(const ForwardRecord& r) {
  std::string m;
  for (const BlockStep& b : r.blocks) m += precision_code(b);
  return m;
}

json steps_json(const std::vector<ForwardRecord>& recs) {
  json a = json::array();
  for (const ForwardRecord& r : recs) {
    json blocks = json::array();
    for (const BlockStep& b : r.blocks)
      blocks.push_back({{"precision", std::string(model::linear_precision_name(b.precision))},
                        {"skipped", b.skipped},
                        {"d", num(b.d)},
                        {"d_used", num(b.d_used)},
                        {"s_pred", num(b.s_pred)}});
    a.push_back({{"step", r.step}, {"t", r.t}, {"pass", r.cond ? "cond" : "uncond"}, {"map", forward_map(r)}, {"blocks", blocks}});
  }
  return a;
}

json video_json(const VideoResult& v) {
  json psnr = json::array();
  int identical = 0;
  for (double p : v.fidelity.psnr_db) {
    psnr.push_back(num(p));
    identical += std::isinf(p);
  }
  json fid = {{"reference", "the full-precision run with the same prompt and seed"},
              {"psnr_db", psnr},
              {"identical_frames", identical},
              {"mean_psnr_db", num(v.fidelity.mean_psnr_db)},
              {"pooled_psnr_db", num(v.fidelity.pooled_psnr_db)},
              {"ssim", v.ssim_applies ? nums(v.fidelity.ssim) : json(nullptr)},
              {"mean_ssim", v.ssim_applies ? num(v.fidelity.mean_ssim) : json(nullptr)},
              {"ssim_note", v.ssim_note}};
  return {{"prompt", v.prompt},
          {"seed", v.seed},
          {"steps", steps_json(v.records)},
          {"fidelity", fid},
          {"temporal_flickering", {{"run", num(v.flicker_run)}, {"full_precision", num(v.flicker_full)}}},
          {"condition_adherence", v.adherence},
          {"error_per_step", {{"latent_rel_l2", nums(v.latent_rel_l2)}, {"velocity_rel_l2", nums(v.velocity_rel_l2)}}},
          {"files", v.files}};
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

}  // namespace

json run_report_json(const RunSummary& s) {
  json mem_lines = json::array();
  for (const auto& l : s.memory.lines) mem_lines.push_back({{"what", l.what}, {"bytes", l.bytes}});
  json residency = json::array();
  for (size_t b = 0; b < s.residency.nvfp4.size(); ++b)
    residency.push_back({{"block", int(b)}, {"nvfp4", bool(s.residency.nvfp4[b])}, {"int8", bool(s.residency.int8[b])}});
  const double speedup = ratio(s.full.sim_time, s.run.sim_time), flop_red = ratio(s.full.flops, s.run.flops);
  json videos = json::array();
  for (const auto& v : s.videos) videos.push_back(video_json(v));
  json targets = json::array();
  targets.push_back({{"figure", "end-to-end speed-up"}, {"paper", 1.92}, {"value", num(speedup)}, {"status", "simulated"},
                     {"how", "tensor-core cost model (harness/engine/accounting.hpp): block linears at FP4 : FP8/INT8 : "
                             "BF16 = 4 : 2 : 1 throughput, attention and the rest bf16, skipped blocks free; the "
                             "full-precision run's cost over this run's"}});
  targets.push_back({{"figure", "end-to-end speed-up on hardware"}, {"paper", 1.92}, {"value", nullptr},
                     {"status", "not yet measured"},
                     {"how", "needs the CUDA backend on an NVFP4 GPU (Blackwell); this run is the CPU emulator"}});
  targets.push_back({{"figure", "memory reduction (weights)"}, {"paper", 3.32}, {"value", num(s.memory.reduction())},
                     {"status", "simulated"},
                     {"how", "every resident weight byte of this policy counted per format (memory.lines) against "
                             "the same model in bf16; not a process measurement"}});
  targets.push_back({{"figure", "compute reduction (FLOPs)"}, {"paper", nullptr}, {"value", num(flop_red)},
                     {"status", "measured"},
                     {"how", "FLOPs of the ops this run executed (blocks run, cache and predictor overhead) "
                             "against the full-precision run"}});
  return {{"kind", "sixbit.run"},
          {"version", 1},
          {"config", s.config},
          {"predictor", s.predictor},
          {"precision",
           {{"legend", {{"4", "W4A4 (NVFP4 weights and activations)"}, {"8", "W8A8 (INT8)"}, {"m", "W4A8 (NVFP4 weights, INT8 activations)"},
                        {"F", "full precision"}, {".", "skipped (residual cache)"}}},
            {"avg_weight_bits", num(s.run.avg_weight_bits())},
            {"avg_activation_bits", num(s.run.avg_activation_bits())},
            {"bits_weighting", "block linear FLOPs of the blocks that ran; full precision counts as 16 (bf16)"},
            {"blocks_run", s.run.blocks_run},
            {"blocks_skipped", s.run.blocks_skipped},
            {"skip_rate", s.run.skip_rate()},
            {"residency_fallbacks", s.run.fallbacks}}},
          {"memory",
           {{"lines", mem_lines},
            {"total_bytes", s.memory.total},
            {"bf16_bytes", s.memory.bf16_total},
            {"reduction_vs_bf16", num(s.memory.reduction())},
            {"switchable_blocks", s.residency.switchable()},
            {"residency", residency},
            {"cache_peak_bytes_fp32", s.cache_bytes}}},
          {"compute",
           {{"flops_executed", s.run.flops},
            {"flops_full_precision_run", s.full.flops},
            {"flop_reduction", num(flop_red)},
            {"simulated_time", s.run.sim_time},
            {"simulated_time_full_precision", s.full.sim_time},
            {"simulated_speedup", num(speedup)}}},
          {"videos", videos},
          {"targets", targets}};
}

void print_run_summary(std::FILE* out, const RunSummary& s) {
  for (const auto& v : s.videos) {
    std::fprintf(out, "\nprompt \"%s\" (seed %llu)\n", v.prompt.c_str(), (unsigned long long)v.seed);
    std::fprintf(out, "  precision per step, cond pass (blocks left to right; 4 W4A4, 8 W8A8, m W4A8, F full, . skipped):\n");
    for (const auto& r : v.records)
      if (r.cond) std::fprintf(out, "    step %3d  t %7.2f  %s\n", r.step, r.t, forward_map(r).c_str());
    std::fprintf(out, "  vs full precision: PSNR mean %.2f dB", v.fidelity.mean_psnr_db);
    if (v.ssim_applies)
      std::fprintf(out, ", SSIM mean %.4f", v.fidelity.mean_ssim);
    else
      std::fprintf(out, ", SSIM n/a (%s)", v.ssim_note.c_str());
    std::fprintf(out, "; final latent rel L2 %.3e\n", v.latent_rel_l2.empty() ? 0.0 : v.latent_rel_l2.back());
    std::fprintf(out, "  temporal flickering (VBench): run %.4f, full precision %.4f\n", v.flicker_run, v.flicker_full);
  }
  std::fprintf(out, "\nachieved bits (block linears, FLOP-weighted): weights %.2f, activations %.2f; skipped %lld of %lld blocks (%.1f%%)\n",
               s.run.avg_weight_bits(), s.run.avg_activation_bits(), (long long)s.run.blocks_skipped,
               (long long)(s.run.blocks_run + s.run.blocks_skipped), 100.0 * s.run.skip_rate());
  std::fprintf(out, "weights resident: %lld bytes vs %lld in bf16 (%d blocks hold both NVFP4 and INT8)\n",
               (long long)s.memory.total, (long long)s.memory.bf16_total, s.residency.switchable());
  std::fprintf(out, "\n%-34s %7s %9s  %s\n", "against the paper", "paper", "here", "status");
  const json report = run_report_json(s);  // named: iterating a member of a temporary would dangle
  for (const auto& t : report["targets"]) {
    const std::string paper = t["paper"].is_null() ? "-" : std::to_string(t["paper"].get<double>()).substr(0, 4) + "x";
    char here[32] = "-";
    if (!t["value"].is_null()) std::snprintf(here, sizeof here, "%.2fx", t["value"].get<double>());
    std::fprintf(out, "%-34s %7s %9s  %s\n", t["figure"].get<std::string>().c_str(), paper.c_str(), here,
                 t["status"].get<std::string>().c_str());
  }
}

std::vector<std::string> write_run_plots(const RunSummary& s, bool overwrite) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  if (s.videos.empty()) return files;
  const VideoResult& v = s.videos.front();
  const int n = s.num_layers;
  int steps = 0;
  for (const auto& r : v.records) steps = std::max(steps, r.step + 1);
  plot::Heatmap h;
  h.title = "precision per block and step (video 0)";
  h.x_label = "step";
  h.y_label = "c: cond, u: uncond";
  h.rows = 2 * n;
  h.cols = steps;
  h.values.assign(size_t(h.rows * h.cols), NAN);
  h.categories = {{"W4A4", {44, 160, 44}}, {"W8A8", {31, 119, 180}}, {"W4A8", {255, 127, 14}},
                  {"full", {127, 127, 127}}, {"skipped", {240, 240, 240}}};
  for (const auto& r : v.records)
    for (int b = 0; b < n; ++b) {
      const char c = precision_code(r.blocks[size_t(b)]);
      const double cat = c == '4' ? 0 : c == '8' ? 1 : c == 'm' ? 2 : c == 'F' ? 3 : 4;
      h.values[size_t((r.cond ? b : n + b) * steps + r.step)] = cat;
    }
  for (int b = 0; b < 2 * n; ++b) h.row_labels.push_back((b < n ? "c" : "u") + std::to_string(b % n));
  const std::string heat = (fs::path(s.out_dir) / "precision_heatmap.png").string();
  plot::write_plot_png(heat, plot::plot_heatmap(h), overwrite);
  files.push_back(heat);

  plot::LinePlot lp;
  lp.title = "error per step against the full-precision run";
  lp.x_label = "step";
  lp.y_label = "relative L2";
  lp.log_y = true;
  for (size_t i = 0; i < s.videos.size() && i < 4; ++i) {
    plot::Series lat{"latent after step, video " + std::to_string(i), {}, s.videos[i].latent_rel_l2};
    plot::Series vel{"cond velocity, video " + std::to_string(i), {}, s.videos[i].velocity_rel_l2};
    for (size_t k = 0; k < lat.y.size(); ++k) lat.x.push_back(double(k));
    for (size_t k = 0; k < vel.y.size(); ++k) vel.x.push_back(double(k));
    lp.series.push_back(lat);
    lp.series.push_back(vel);
  }
  bool drawable = false;  // an all-zero error (full precision, no cache) has nothing to draw on a log axis
  for (const auto& se : lp.series)
    for (double y : se.y) drawable = drawable || (std::isfinite(y) && y > 0);
  if (drawable) {
    const std::string err = (fs::path(s.out_dir) / "error_per_step.png").string();
    plot::write_plot_png(err, plot::plot_lines(lp), overwrite);
    files.push_back(err);
  }

  if (!s.calibration.empty()) {
    plot::ScatterPlot sp;
    sp.title = "block input-output difference d vs W4A4 sensitivity s";
    sp.x_label = "d = sum|out - in| / sum|in|";
    sp.y_label = "s = sum|out_w4a4 - out| / sum|out|";
    for (const auto& c : s.calibration) {
      sp.x.push_back(c.d);
      sp.y.push_back(c.s);
      sp.group.push_back(c.block);
    }
    for (int b = 0; b < n; ++b) sp.group_names.push_back("block " + std::to_string(b));
    const std::string sc = (fs::path(s.out_dir) / "d_vs_s.png").string();
    plot::write_plot_png(sc, plot::plot_scatter(sp), overwrite);
    files.push_back(sc);
  }
  return files;
}

}  // namespace sixbit::harness
