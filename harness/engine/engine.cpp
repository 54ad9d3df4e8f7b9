// sixbit/harness/engine/engine.cpp: see engine.hpp.
#include "harness/engine/engine.hpp"

#include <cmath>

#include "common/check.hpp"

namespace sixbit::harness {

using model::LinearKind;
using model::LinearPrecision;
using model::Mat;

BlockProbe w4a4_probe(model::DitOps& ops) {
  return [&ops](int, const Mat& in, const Mat&, const model::BlockRun& run) {
    ops.set_plan(model::PrecisionPlan::uniform(LinearPrecision::kW4A4));
    return run(in);
  };
}

Engine::Engine(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops, EngineOptions options)
    : cfg_(cfg), w_(w), ops_(ops), o_(std::move(options)), flops_(flop_model(cfg)), cache_(make_cache(o_.cache)) {
  const int n = cfg.num_layers;
  if (policy_is_dynamic(o_.policy)) {
    SIXBIT_CHECK(o_.predictor != nullptr, "policy ", policy_name(o_.policy), " needs a predictor (sixbit calibrate)");
    SIXBIT_CHECK(o_.predictor->num_blocks() == n, "the predictor has ", o_.predictor->num_blocks(),
                 " blocks, the model ", n);
    if (o_.allocation.mode == AllocationMode::kBudget) budget_nvfp4_blocks(n, o_.allocation.value);  // validates
    SIXBIT_CHECK(!std::isnan(o_.allocation.value) && o_.allocation.value >= 0, "threshold must be >= 0");
  }
  SIXBIT_CHECK(o_.residency.nvfp4.empty() || int(o_.residency.nvfp4.size()) == n, "residency has ",
               o_.residency.nvfp4.size(), " blocks, the model ", n);
  reset();
}

void Engine::reset() {
  if (cache_) cache_->reset();
  for (auto& d : last_d_) d.assign(size_t(cfg_.num_layers), NAN);
}

model::PrecisionPlan Engine::plan_for(const std::vector<LinearPrecision>& per_block) const {
  bool uniform = true;
  for (LinearPrecision p : per_block) uniform = uniform && p == per_block.front();
  if (uniform) return model::PrecisionPlan::uniform(per_block.empty() ? LinearPrecision::kFull : per_block.front());
  model::PrecisionPlan plan;
  for (int b = 0; b < int(per_block.size()); ++b)
    for (int k = int(LinearKind::self_q); k <= int(LinearKind::ffn_2); ++k)
      plan.per_linear[{b, LinearKind(k)}] = per_block[size_t(b)];
  return plan;
}

std::vector<float> Engine::forward(const std::vector<float>& x_in, const sampler::StepInfo& info, const Mat& context) {
  const int n = cfg_.num_layers, pass = info.cond ? 0 : 1;
  ForwardRecord rec{info.step, info.cond, info.t, std::vector<BlockStep>(size_t(n))};

  // 1. Precisions for this forward, from what each block did the last time it ran in this pass.
  std::vector<LinearPrecision> prec(size_t(n), block_precision(o_.policy, true));
  if (policy_is_dynamic(o_.policy)) {
    std::vector<double> s_pred(static_cast<size_t>(n));
    for (int b = 0; b < n; ++b) {
      BlockStep& bs = rec.blocks[size_t(b)];
      const double last = last_d_[pass][size_t(b)];
      bs.d_used = std::isnan(last) ? o_.predictor->d_first[size_t(b)] : last;
      bs.s_pred = s_pred[size_t(b)] = o_.predictor->predict(b, bs.d_used);
    }
    const std::vector<bool> low = allocate_nvfp4(s_pred, o_.allocation);
    for (int b = 0; b < n; ++b) {
      LinearPrecision p = block_precision(o_.policy, low[size_t(b)]);
      if (!o_.residency.nvfp4.empty()) {  // policy (a): run in a copy the block actually holds
        const bool needs_int8 = p == LinearPrecision::kW8A8;
        const bool has = needs_int8 ? o_.residency.int8[size_t(b)] : o_.residency.nvfp4[size_t(b)];
        if (!has) {
          p = block_precision(o_.policy, needs_int8);
          ++counters_.fallbacks;
        }
      }
      prec[size_t(b)] = p;
    }
  }
  for (int b = 0; b < n; ++b) rec.blocks[size_t(b)].precision = prec[size_t(b)];
  const model::PrecisionPlan plan = plan_for(prec);
  ops_.set_plan(plan);

  // 2. Embeddings, then the block stack through the cache (or plainly), then the head.
  if (o_.site) o_.site(info.step, info.cond, -1);
  model::DitPrepared prep = model::dit_prepare(cfg_, w_, x_in, info.t, context, ops_);
  Mat x = std::move(prep.x);
  prep.x = Mat();
  const double stream = flops_.stream_elements;
  const bool dynamic = policy_is_dynamic(o_.policy);
  auto compute = [&](int b, const Mat& in) -> Mat {
    if (o_.site) o_.site(info.step, info.cond, b);
    const model::BlockRun run = [&, b](const Mat& v) { return model::dit_block(cfg_, w_, prep, b, v, ops_); };
    Mat out = run(in);
    BlockStep& bs = rec.blocks[size_t(b)];
    bs.d = ops_.diff_norms(out, in).rel_l1();
    last_d_[pass][size_t(b)] = bs.d;
    if (dynamic) counters_.flops += 3 * stream;  // the predictor's own measurement is part of the run's cost
    if (o_.probe) {
      const Mat probed = o_.probe(b, in, out, run);
      ops_.set_plan(plan);
      bs.s = ops_.diff_norms(probed, out).rel_l1();
    }
    const LinearPrecision p = bs.precision;
    ++counters_.blocks_run;
    counters_.flops += flops_.block();
    counters_.sim_time += flops_.block_linear * linear_time_per_flop(p) + flops_.block_attention;
    counters_.linear_flops += flops_.block_linear;
    counters_.weight_bits_flops += flops_.block_linear * weight_bits(p);
    counters_.activation_bits_flops += flops_.block_linear * activation_bits(p);
    return out;
  };
  if (cache_) {
    StackEnv env{info, n, ops_, prep, compute,
                 [&](int b) {
                   rec.blocks[size_t(b)].skipped = true;
                   ++counters_.blocks_skipped;
                 },
                 [&](double f) {
                   counters_.flops += f;
                   counters_.sim_time += f;
                 }};
    x = cache_->run(env, std::move(x));
    counters_.peak_cache_floats = std::max(counters_.peak_cache_floats, cache_->resident_floats());
  } else {
    for (int b = 0; b < n; ++b) x = compute(b, x);
  }
  if (o_.site) o_.site(info.step, info.cond, n);
  std::vector<float> v = model::dit_head(cfg_, w_, prep, std::move(x), ops_);

  counters_.flops += flops_.prepare + flops_.head;
  counters_.sim_time += flops_.prepare + flops_.head;
  counters_.flops_full += flops_.forward();
  counters_.sim_time_full += flops_.forward();
  ++counters_.forwards;
  int64_t bad = 0;
  for (float f : v) bad += !std::isfinite(f);
  SIXBIT_CHECK(bad == 0, "the model produced ", bad, " non-finite values at step ", info.step, " (",
               info.cond ? "conditional" : "unconditional", " pass, t = ", info.t, ")");
  records_.push_back(std::move(rec));
  return v;
}

std::vector<float> sample_video(Engine& engine, const model::DitConfig& cfg, sampler::Solver solver, int steps,
                                double shift, double guidance, uint64_t seed, const Mat& cond, const Mat& uncond,
                                const PassObserver& observe) {
  engine.reset();
  const sampler::FlowSchedule schedule = sampler::flow_schedule(steps, shift);
  std::vector<float> x = sampler::initial_noise(seed, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
  return sampler::sample_cfg(solver, std::move(x), schedule, guidance,
                             [&](const std::vector<float>& xt, const sampler::StepInfo& info) {
                               std::vector<float> v = engine.forward(xt, info, info.cond ? cond : uncond);
                               if (observe) observe(xt, info, v);
                               return v;
                             });
}

}  // namespace sixbit::harness
