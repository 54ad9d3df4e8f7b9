// sixbit/harness/engine/engine.hpp: the harness's DiT driver. It owns the predictor and the residual cache (not the
// backend): per forward it chooses each block's precision from the d the block had when it last ran in the same
// CFG pass, lets the cache decide which blocks run, runs them through model::dit_block on any DitOps, and records
// per block and step what happened (precision, skip, d, predicted and measured s), FLOPs and simulated time.
#pragma once

#include <functional>
#include <vector>

#include "harness/engine/accounting.hpp"
#include "harness/engine/policy.hpp"
#include "harness/predictor/predictor.hpp"
#include "harness/tdc/cache.hpp"
#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sixbit::harness {

// What one block did in one forward. NaN where not applicable (d of a skipped block, s without a probe).
struct BlockStep {
  model::LinearPrecision precision = model::LinearPrecision::kFull;
  bool skipped = false;
  double d = NAN;       // measured: sum|out - in| / sum|in|
  double d_used = NAN;  // what the predictor used (dynamic policies)
  double s_pred = NAN;  // predicted sensitivity (dynamic policies)
  double s = NAN;       // measured sensitivity (when a probe is set: calibration)
};
struct ForwardRecord {
  int step = 0;
  bool cond = true;
  double t = 0;
  std::vector<BlockStep> blocks;
};

// Runs block b a second time from the same input `in` (whose full run gave `out`) and returns the probed output;
// `run` computes the block under the backend's current plan. The engine restores its own plan afterwards.
using BlockProbe = std::function<model::Mat(int block, const model::Mat& in, const model::Mat& out, const model::BlockRun& run)>;
// The calibration probe: the block with every linear W4A4 (ops.set_plan(uniform W4A4)).
BlockProbe w4a4_probe(model::DitOps& ops);

struct EngineOptions {
  Policy policy = Policy::kFull;
  Allocation allocation;
  const Predictor* predictor = nullptr;  // required by the dynamic policies
  Residency residency;                   // empty: every copy resident
  CacheOptions cache;
  BlockProbe probe;                      // calibration only
  // Called before the prepare step (block -1), before each block that runs, and before the head (block N): the
  // op-by-op compare uses it to label ops.
  std::function<void(int step, bool cond, int block)> site;
};

struct EngineCounters {
  double flops = 0;           // executed: prepare + blocks run + head + cache/predictor overhead
  double flops_full = 0;      // the same forwards with every block run and no overhead
  double sim_time = 0;        // cost model (accounting.hpp), bf16 FLOP = 1
  double sim_time_full = 0;   // the same forwards all bf16, nothing skipped
  double linear_flops = 0;    // block linear FLOPs executed
  double weight_bits_flops = 0, activation_bits_flops = 0;  // sum of bits x linear FLOPs (for the averages)
  int64_t blocks_run = 0, blocks_skipped = 0;
  int64_t fallbacks = 0;      // choices that had no resident weight copy (policy a) and ran in the other
  int64_t peak_cache_floats = 0;
  int64_t forwards = 0;
  double avg_weight_bits() const { return linear_flops > 0 ? weight_bits_flops / linear_flops : 0; }
  double avg_activation_bits() const { return linear_flops > 0 ? activation_bits_flops / linear_flops : 0; }
  double skip_rate() const { return blocks_run + blocks_skipped > 0 ? double(blocks_skipped) / double(blocks_run + blocks_skipped) : 0; }
};

class Engine {
 public:
  // Throws sixbit::Error when a dynamic policy has no predictor or the predictor's block count differs.
  Engine(const model::DitConfig& cfg, const model::Weights& w, model::DitOps& ops, EngineOptions options);
  // One CFG pass (the body of the sampler's VelocityFn): the model's flow prediction for x at info.t.
  std::vector<float> forward(const std::vector<float>& x, const sampler::StepInfo& info, const model::Mat& context);
  // Forget the cache and the d history: the next forward starts a new video. Records and counters are kept.
  void reset();
  const std::vector<ForwardRecord>& records() const { return records_; }
  const EngineCounters& counters() const { return counters_; }
  const EngineOptions& options() const { return o_; }

 private:
  model::PrecisionPlan plan_for(const std::vector<model::LinearPrecision>& per_block) const;
  const model::DitConfig& cfg_;
  const model::Weights& w_;
  model::DitOps& ops_;
  EngineOptions o_;
  FlopModel flops_;
  std::unique_ptr<StackCache> cache_;
  std::vector<double> last_d_[2];  // per CFG pass: the d each block had when it last ran (NaN: never)
  std::vector<ForwardRecord> records_;
  EngineCounters counters_;
};

// Sees each CFG pass of a sampling run: the model input x, the step, and the velocity the engine returned.
using PassObserver = std::function<void(const std::vector<float>& x, const sampler::StepInfo& info, const std::vector<float>& v)>;

// Sample one video: initial noise from `seed` (sampler::initial_noise), the sampler's CFG loop (conditional pass
// first) with the engine as the velocity, `observe` after each pass. Resets the engine's cache and d history first.
std::vector<float> sample_video(Engine& engine, const model::DitConfig& cfg, sampler::Solver solver, int steps,
                                double shift, double guidance, uint64_t seed, const model::Mat& cond,
                                const model::Mat& uncond, const PassObserver& observe = {});

}  // namespace sixbit::harness
