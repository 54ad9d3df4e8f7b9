// End-to-end benchmark of the Wan2.1 DiT on the GPU (CudaDitOps, kFast) driven by the harness's engine (predictor,
// Temporal Delta Cache) with Euler + CFG 5.0 (two passes per step) on Wan's 50-step schedule (shift 5), synthetic
// weights. Each configuration first runs untimed passes (weight upload and quantization, cuBLASLt/cuDNN plans), then
// samples: configurations named in --full run the whole 50-step video (total wall time, no extrapolation); the
// others stop after --warmup + --steps steps (median and mean of the timed steps; x 50 only where labelled).
// Wall time per step is host clock around device work (every pass ends in a device->host copy). Also: skip rate,
// NVFP4 share, device memory (weights by format, peak, TDC cache) and an op profile of one extra pass (CUDA events
// by category). Ratios against our bf16 and the PyTorch peer (experiments/torch_peer.py, --peer JSON) use numbers
// measured on the same machine in the same call.
// Build: cmake --build build --target dit_e2e_bench. Run (GPU): build/cuda/dit_e2e_bench --preset wan2.1-1.3b
//   [--steps 3] [--warmup 2] [--configs bf16,w8a8,w4a4,dyn6,dyn6+tdc (also w8a8-cublaslt, w4a8, w4a8-cublaslt, bf16-plain, bf16+tdc)] [--full bf16,dyn6+tdc] [--tdc-threshold 0.05]
//   [--peer peer.json] [--json out.json] [--attention-bench] [--no-profile]   (scripts/device.sh runs it).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/check.hpp"
#include "cuda/backend.hpp"
#include "cuda/dit/dit_ops.hpp"
#include "harness/engine/engine.hpp"
#include "reference/model/config.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/weights.hpp"

namespace {
using namespace sixbit;
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Synthetic weights with synthetic_weights()'s shapes, scales and outlier rows (reference/model/synthetic_weights.cpp:
// N(0, 1/fan_in) linears, N(0, 0.02^2) biases, 1 + N(0, 0.1^2) norm weights, N(0, 1/dim) modulation, rows writing
// the outlier channels of patch_embedding / self_attn.o / ffn.2 scaled by 8), drawn from a faster parallel stream
// (splitmix64 per 1 Mi chunk, float Box-Muller): the real generator is serial and takes minutes at 1.4B parameters.
model::Weights bench_weights(const model::DitConfig& cfg, uint64_t seed) {
  model::Weights w;
  struct Job { model::Tensor* t; std::string name; int64_t begin, end; };
  std::vector<Job> jobs;
  for (const auto& [name, shape] : model::weight_shapes(cfg)) {
    model::Tensor& t = w[name];
    t.shape = shape;
    t.data.resize(size_t(t.numel()));
    for (int64_t b = 0; b < t.numel(); b += int64_t(1) << 20) jobs.push_back({&t, name, b, std::min<int64_t>(t.numel(), b + (int64_t(1) << 20))});
  }
  const std::vector<int> outliers = model::outlier_channels(cfg, seed);
#pragma omp parallel for schedule(dynamic)
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Job& jb = jobs[j];
    const std::string& n = jb.name;
    auto ends = [&](const char* s) { return n.size() >= std::strlen(s) && n.compare(n.size() - std::strlen(s), std::strlen(s), s) == 0; };
    double scale, offset = 0.0;
    if (ends("modulation")) scale = 1.0 / std::sqrt(double(cfg.dim));
    else if (n.find("norm") != std::string::npos) ends(".bias") ? (scale = 0.02) : (scale = 0.1, offset = 1.0);
    else if (ends(".bias")) scale = 0.02;
    else scale = 1.0 / std::sqrt(double(jb.t->numel() / jb.t->shape[0]));
    uint64_t st = seed ^ model::fnv1a64(n) ^ (uint64_t(jb.begin) * 0x9E3779B97F4A7C15ull);
    for (int64_t i = jb.begin; i < jb.end; i += 2) {
      const uint64_t a = model::splitmix64(st), b = model::splitmix64(st);
      const float u1 = float((a >> 40) + 1) * 0x1p-24f, u2 = float(b >> 40) * 0x1p-24f;
      const float r = std::sqrt(-2.0f * std::log(u1));
      jb.t->data[size_t(i)] = float(r * std::cos(6.2831853f * u2) * scale + offset);
      if (i + 1 < jb.end) jb.t->data[size_t(i + 1)] = float(r * std::sin(6.2831853f * u2) * scale + offset);
    }
  }
  for (const char* name : {"patch_embedding.weight"}) {
    model::Tensor& t = w[name];
    const int64_t row = t.numel() / t.shape[0];
    for (int c : outliers)
      for (int64_t i = 0; i < row; ++i) t.data[size_t(c * row + i)] *= 8.0f;
  }
  for (int b = 0; b < cfg.num_layers; ++b)
    for (const std::string s : {".self_attn.o.weight", ".ffn.2.weight"}) {
      model::Tensor& t = w["blocks." + std::to_string(b) + s];
      const int64_t row = t.numel() / t.shape[0];
      for (int c : outliers)
        for (int64_t i = 0; i < row; ++i) t.data[size_t(c * row + i)] *= 8.0f;
    }
  return w;
}

struct Config {
  std::string name;
  harness::Policy policy = harness::Policy::kFull;
  bool tdc = false;
  bool plain = false;  // model::dit_forward without the engine
  bool sm90_gemm = true;  // CudaDitOptions::sm90_gemm ("w8a8-cublaslt", "w4a8-cublaslt": off, the before/after of the Hopper GEMMs)
};

Config parse_config(const std::string& s) {
  Config c;
  c.name = s;
  if (s == "bf16") c.policy = harness::Policy::kFull;
  else if (s == "bf16-plain") c.policy = harness::Policy::kFull, c.plain = true;
  else if (s == "w8a8") c.policy = harness::Policy::kW8A8;
  else if (s == "w8a8-cublaslt") c.policy = harness::Policy::kW8A8, c.sm90_gemm = false;
  else if (s == "w4a4") c.policy = harness::Policy::kW4A4;
  else if (s == "w4a8") c.policy = harness::Policy::kW4A8;
  else if (s == "w4a8-cublaslt") c.policy = harness::Policy::kW4A8, c.sm90_gemm = false;
  else if (s == "dyn6" || s == "dyn6+tdc") c.policy = harness::Policy::kW4A4orW4A8, c.tdc = s == "dyn6+tdc";
  else if (s == "bf16+tdc") c.policy = harness::Policy::kFull, c.tdc = true;
  else SIXBIT_CHECK(false, "unknown config '", s, "' (bf16, bf16-plain, w8a8, w8a8-cublaslt, w4a4, w4a8, w4a8-cublaslt, dyn6, dyn6+tdc, bf16+tdc)");
  return c;
}

struct StopSampling {};  // thrown from the pass observer to end a partial run

struct Result {
  std::string name;
  bool full = false;      // the whole 50-step video
  double total_ms = 0;    // wall time of the sampled steps (the whole video when full)
  int steps_run = 0;
  std::vector<double> step_ms;  // timed steps
  double median = 0, mean = 0, skip_rate = 0, nvfp4_share = 0;
  cuda::MemoryReport mem;
  cuda::OpProfile prof;
  double prof_pass_wall_ms = 0;
  std::string attention, w8a8_gemm, w4a8_gemm;
};

std::string arg(int argc, char** argv, const char* name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return argv[i + 1];
  return def;
}
bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == name) return true;
  return false;
}

constexpr int kScheduleSteps = 50;  // Wan's default

Result run_config(const model::DitConfig& cfg, const model::Weights& w, const Config& c, int steps, int warmup, bool full, double tdc_threshold,
                  bool profile, const model::Mat& cond, const model::Mat& uncond) {
  cuda::CudaDitOptions o;
  o.mode = cuda::DitMode::kFast, o.sm90_gemm = c.sm90_gemm;
  cuda::CudaDitOps ops(o);
  // The dynamic policy's predictor: the identity fit s = d on every block (no calibration on this synthetic model);
  // the 6.0-bit budget fixes the NVFP4 share at half the blocks each step, the d measured on the device picks which.
  harness::Predictor pred;
  pred.model = "identity fit (uncalibrated, benchmark)";
  harness::LinearFit fit;
  fit.a = 1.0, fit.c = 0.0, fit.n = 2;
  pred.global = fit;
  pred.blocks.assign(size_t(cfg.num_layers), fit);
  pred.d_first.assign(size_t(cfg.num_layers), 0.1);
  harness::EngineOptions eo;
  eo.policy = c.policy;
  eo.allocation = {harness::AllocationMode::kBudget, 6.0};
  if (harness::policy_is_dynamic(c.policy)) eo.predictor = &pred;
  if (c.tdc) eo.cache = {harness::CacheKind::kTdc, tdc_threshold, 2, 3};
  harness::Engine engine(cfg, w, ops, eo);

  // Untimed passes: upload and quantize the weights, build every cuBLASLt / cuDNN plan the timed run uses.
  const int64_t latent_n = int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width;
  const std::vector<float> x_warm = sampler::initial_noise(3, latent_n);
  std::vector<model::LinearPrecision> warm_plans = {harness::block_precision(c.policy, true)};
  if (harness::policy_is_dynamic(c.policy)) warm_plans.push_back(harness::block_precision(c.policy, false));
  for (model::LinearPrecision p : warm_plans) {
    ops.set_plan(model::PrecisionPlan::uniform(p));
    model::dit_forward(cfg, w, x_warm, 999.0, cond, ops);
  }

  std::vector<double> stamps;  // wall clock at the end of every pass
  const int total = full ? kScheduleSteps : warmup + steps;
  const Clock::time_point t0 = Clock::now();
  auto stamp = [&] {
    stamps.push_back(ms_since(t0));
    if (int(stamps.size()) == 2 * total && total < kScheduleSteps) throw StopSampling{};
  };
  try {
    if (c.plain) {
      ops.set_plan(model::PrecisionPlan::uniform(model::LinearPrecision::kFull));
      sampler::sample_cfg(sampler::Solver::kEuler, sampler::initial_noise(1, latent_n), sampler::flow_schedule(kScheduleSteps, 5.0), 5.0,
                          [&](const std::vector<float>& x, const sampler::StepInfo& info) {
                            std::vector<float> v = model::dit_forward(cfg, w, x, info.t, info.cond ? cond : uncond, ops);
                            stamp();
                            return v;
                          });
    } else {
      harness::sample_video(engine, cfg, sampler::Solver::kEuler, kScheduleSteps, 5.0, 5.0, 1, cond, uncond,
                            [&](const std::vector<float>&, const sampler::StepInfo&, const std::vector<float>&) { stamp(); });
    }
  } catch (const StopSampling&) {
  }
  Result r;
  r.name = c.name, r.full = full, r.steps_run = total, r.total_ms = stamps.back();
  const int first = full ? 0 : warmup;
  for (int s = first; s < total; ++s) r.step_ms.push_back(stamps[size_t(2 * s + 1)] - (s > 0 ? stamps[size_t(2 * s - 1)] : 0.0));
  std::vector<double> sorted = r.step_ms;
  std::sort(sorted.begin(), sorted.end());
  r.median = sorted[sorted.size() / 2];
  for (double v : r.step_ms) r.mean += v / double(r.step_ms.size());
  int64_t run = 0, skipped = 0, nv = 0, qn = 0;
  for (const harness::ForwardRecord& f : engine.records())
    if (f.step >= first)
      for (const harness::BlockStep& b : f.blocks) {
        (b.skipped ? skipped : run)++;
        if (!b.skipped && b.precision != model::LinearPrecision::kFull) ++qn, nv += b.precision == model::LinearPrecision::kW4A4;
      }
  r.skip_rate = run + skipped ? double(skipped) / double(run + skipped) : 0.0;
  r.nvfp4_share = qn ? double(nv) / double(qn) : 0.0;
  r.mem = ops.memory();
  if (profile) {  // one more conditional pass at the last timestep, with events around every launch group
    ops.profile();
    ops.set_profiling(true);
    const std::vector<float> x = sampler::initial_noise(2, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
    const Clock::time_point p0 = Clock::now();
    model::dit_forward(cfg, w, x, 500.0, cond, ops);
    r.prof_pass_wall_ms = ms_since(p0);
    r.prof = ops.profile();
    ops.set_profiling(false);
  }
  r.attention = ops.attention_backend_in_use(), r.w8a8_gemm = ops.w8a8_gemm_in_use(), r.w4a8_gemm = ops.w4a8_gemm_in_use();
  return r;
}

// Self-attention of the preset's shape: cuDNN's SDPA and our flash kernel, each timed over 5 calls after one.
void attention_bench(const model::DitConfig& cfg, nlohmann::json& out) {
  const int64_t S = cfg.tokens(), D = cfg.dim;
  model::Mat q(S, D), k(S, D), v(S, D);
  q.v = model::gaussian_normals(1, S * D), k.v = model::gaussian_normals(2, S * D), v.v = model::gaussian_normals(3, S * D);
  const double flop = 4.0 * double(S) * double(S) * double(D);
  for (cuda::AttentionBackend be : {cuda::AttentionBackend::kCudnn, cuda::AttentionBackend::kOwn}) {
    const char* name = be == cuda::AttentionBackend::kCudnn ? "cudnn" : "own-flash";
    try {
      cuda::CudaDitOptions o;
      o.mode = cuda::DitMode::kFast, o.attention = be;
      cuda::CudaDitOps ops(o);
      model::Mat dq = ops.from_host(q), dk = ops.from_host(k), dv = ops.from_host(v);
      ops.to_host(ops.attention(dq, dk, dv, cfg.num_heads));  // warm-up, converts q/k/v to bf16 once (cached)
      std::vector<double> t;
      for (int i = 0; i < 5; ++i) {
        ops.synchronize();
        const Clock::time_point t0 = Clock::now();
        model::Mat o2 = ops.attention(dq, dk, dv, cfg.num_heads);
        ops.synchronize();
        t.push_back(ms_since(t0));
      }
      std::sort(t.begin(), t.end());
      const double ms = t[t.size() / 2];
      std::printf("attention %s (%s): %lld tokens x %d heads x %lld: %.2f ms, %.0f TFLOP/s\n", name, ops.attention_backend_in_use().c_str(), (long long)S,
                  cfg.num_heads, (long long)(D / cfg.num_heads), ms, flop / ms / 1e9);
      out["attention"][name] = {{"ms", ms}, {"tflops", flop / ms / 1e9}, {"variant", ops.attention_backend_in_use()}};
    } catch (const Error& e) {
      std::printf("attention %s: unavailable: %s\n", name, e.what());
      out["attention"][name] = {{"error", e.what()}};
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string why;
    SIXBIT_CHECK(cuda::device_available(&why), "no GPU: ", why);
    const model::DitConfig cfg = model::preset(arg(argc, argv, "--preset", "wan2.1-1.3b"));
    const int steps = std::stoi(arg(argc, argv, "--steps", "3")), warmup = std::stoi(arg(argc, argv, "--warmup", "2"));
    std::vector<std::string> full;
    std::stringstream fs(arg(argc, argv, "--full", ""));
    for (std::string s; std::getline(fs, s, ',');) full.push_back(s);
    SIXBIT_CHECK(steps >= 1 && warmup >= 1, "--steps and --warmup must be >= 1");
    const double tdc = std::stod(arg(argc, argv, "--tdc-threshold", "0.05"));
    std::vector<Config> configs;
    std::stringstream ss(arg(argc, argv, "--configs", "bf16,w8a8,w4a4,dyn6,dyn6+tdc"));
    for (std::string s; std::getline(ss, s, ',');) configs.push_back(parse_config(s));
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    nlohmann::json out;
    out["device"] = prop.name, out["preset"] = cfg.name, out["tokens"] = cfg.tokens(), out["steps_timed"] = steps, out["warmup_steps"] = warmup;
    out["tdc_threshold"] = tdc;
    std::printf("%s, %s: %lld tokens, %d layers, dim %d; Euler + CFG 5.0 on the 50-step schedule; partial runs: %d warm-up + %d timed steps\n",
                prop.name, cfg.name.c_str(), (long long)cfg.tokens(), cfg.num_layers, cfg.dim, warmup, steps);
    if (flag(argc, argv, "--attention-bench")) attention_bench(cfg, out);

    const Clock::time_point tw = Clock::now();
    const model::Weights w = bench_weights(cfg, 1);
    std::printf("synthetic weights: %.1f s (%d threads)\n", ms_since(tw) / 1000, omp_get_max_threads());
    model::Mat cond(77, cfg.text_dim), uncond(1, cfg.text_dim);
    cond.v = model::gaussian_normals(5, 77 * int64_t(cfg.text_dim));
    double params = 0;
    for (const auto& [n, t] : w) params += double(t.numel());

    std::vector<Result> res;
    for (const Config& c : configs) {
      const Clock::time_point tc = Clock::now();
      const bool is_full = std::find(full.begin(), full.end(), c.name) != full.end();
      res.push_back(run_config(cfg, w, c, steps, warmup, is_full, tdc, !flag(argc, argv, "--no-profile"), cond, uncond));
      std::printf("  %-10s done in %.1f s\n", c.name.c_str(), ms_since(tc) / 1000);
      std::fflush(stdout);
    }
    double peer = 0;
    const std::string peer_path = arg(argc, argv, "--peer", "");
    if (!peer_path.empty()) {
      std::ifstream f(peer_path);
      if (f) {
        const nlohmann::json pj = nlohmann::json::parse(f);
        peer = pj.value("step_ms_median", 0.0);
        out["peer"] = pj;
      }
    }
    const double mib = 1024.0 * 1024.0;
    const Result* base = nullptr;
    for (const Result& r : res)
      if (r.name == "bf16") base = &r;
    std::printf("\n%-10s %6s %9s %9s %8s %8s %6s %6s %9s %7s %9s %9s %9s\n", "config", "steps", "step ms", "mean ms", "vs bf16", "vs peer", "skip%",
                "NVFP4%", "wts MiB", "w-red", "peak MiB", "live MiB", "TDC MiB");
    for (const Result& r : res) {
      const double wb = double(r.mem.weight_bytes());
      const double red = 2.0 * params / wb;  // every weight element at 2 bytes (bf16) over the resident bytes
      std::printf("%-10s %6s %9.1f %9.1f %8s %8s %6.1f %6.1f %9.1f %6.2fx %9.0f %9.0f %9.1f\n", r.name.c_str(),
                  (std::to_string(r.step_ms.size()) + (r.full ? "/50" : "")).c_str(), r.median, r.mean,
                  base ? (std::to_string(base->mean / r.mean).substr(0, 5) + "x").c_str() : "-",
                  peer > 0 ? (std::to_string(peer / r.mean).substr(0, 5) + "x").c_str() : "-", 100 * r.skip_rate, 100 * r.nvfp4_share, wb / mib, red,
                  double(r.mem.device_used_peak - r.mem.device_used_at_start) / mib, r.mem.peak_live_total / mib,
                  r.mem.peak[int(cuda::MemCategory::kResidualCache)] / mib);
      nlohmann::json j = {{"full_video", r.full}, {"steps_run", r.steps_run}, {"total_ms", r.total_ms}, {"step_ms", r.step_ms}, {"step_ms_median", r.median}, {"step_ms_mean", r.mean}, {"skip_rate", r.skip_rate},
                          {"nvfp4_share", r.nvfp4_share}, {"attention", r.attention}, {"w8a8_gemm", r.w8a8_gemm}, {"w4a8_gemm", r.w4a8_gemm}, {"weight_params", params}, {"weight_bytes", r.mem.weight_bytes()},
                          {"weight_reduction_vs_bf16", red}, {"device_peak_bytes", r.mem.device_used_peak - r.mem.device_used_at_start},
                          {"allocator_peak_live_bytes", r.mem.peak_live_total}, {"profile_pass_wall_ms", r.prof_pass_wall_ms},
                          {"profile_ms", {{"attention", r.prof.attention_ms}, {"gemm", r.prof.gemm_ms}, {"row", r.prof.row_ms}, {"quant", r.prof.quant_ms},
                                          {"other", r.prof.other_ms}, {"groups", r.prof.groups}}}};
      for (int k = 0; k < int(cuda::MemCategory::kCount); ++k) j["memory"][std::string(cuda::mem_category_name(cuda::MemCategory(k)))] = {r.mem.live[k], r.mem.peak[k]};
      out["configs"][r.name] = j;
    }
    std::printf("ratios: vs bf16 = bf16 mean / config mean (both per step); vs peer = peer median / config mean; 50-step totals: ");
    for (const Result& r : res)
      std::printf("%s %.1f s%s; ", r.name.c_str(), r.full ? r.total_ms / 1000 : r.mean * kScheduleSteps / 1000, r.full ? " (measured)" : " (mean x 50)");
    if (peer > 0) std::printf("peer %.1f s (median x 50)", peer * kScheduleSteps / 1000);
    std::printf("\n");
    const Result* dyn = nullptr;
    for (const Result& r : res)
      if (r.name == "dyn6") dyn = &r;
    if (base && dyn)  // skipping a fraction r of the blocks removes about r of the step: 2x needs r >= 1 - bf16 / (2 dyn6)
      std::printf("skip rate needed for dyn6+tdc >= 2.0x bf16 (blocks ~ the whole step, TDC overhead ignored): %.1f%%\n",
                  100 * (1.0 - base->mean / (2.0 * dyn->mean)));
    std::printf("\nprofile of one conditional pass (device ms by category; wall ms of the pass; gap = wall - profiled):\n");
    std::printf("%-10s %9s %9s %9s %9s %9s %9s %9s %7s\n", "config", "attention", "gemm", "row", "quant", "other", "profiled", "wall", "attn%");
    for (const Result& r : res)
      if (r.prof.groups > 0)
        std::printf("%-10s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6.1f%%\n", r.name.c_str(), r.prof.attention_ms, r.prof.gemm_ms, r.prof.row_ms, r.prof.quant_ms,
                    r.prof.other_ms, r.prof.total_ms(), r.prof_pass_wall_ms, 100 * r.prof.attention_ms / r.prof.total_ms());
    for (const Result& r : res)
      std::printf("%s: attention via %s, W8A8 GEMM %s, W4A8 GEMM %s\n", r.name.c_str(), r.attention.c_str(), r.w8a8_gemm.c_str(), r.w4a8_gemm.c_str());
    std::printf("\n%s\n", res.empty() ? "" : res.back().mem.table().c_str());
    const std::string json_path = arg(argc, argv, "--json", "");
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dit_e2e_bench: %s\n", e.what());
    return 1;
  }
}
