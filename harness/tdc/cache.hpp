// sixbit/harness/tdc/cache.hpp: residual caches that skip transformer blocks between sampling steps.
//
// tdc       the Temporal Delta Cache (6Bit-Diffusion): per block, when it runs, cache its residual r = out - in
//           and its input; at a later step skip it (x += r) while the relative L1 change of its input since it last
//           ran, sum|x - x_last| / sum|x_last|, stays below the threshold. Per block, so a stable block is skipped
//           while a volatile one in the same step runs.
// teacache  TeaCache as TeaCache4Wan2.1 does it (ali-vilab/TeaCache TeaCache4Wan2.1/teacache_generate.py,
//           teacache_forward): accumulate the relative L1 change of the timestep-modulated input e0 between
//           consecutive steps; while the sum stays below the threshold, skip the whole block stack (x += the
//           stack's cached residual), else run it and reset the sum. Its fitted rescaling polynomial is specific to
//           Wan2.1-1.3B/14B, so here it is the identity (no polynomial was fitted for these models).
// fbcache   First-Block Cache (chengzeyi/ParaAttention src/para_attn/first_block_cache/utils.py): always run block
//           0; if its residual's relative L1 change against the block-0 residual of the last step that ran the rest
//           (mean|prev - cur| / mean|prev|) is below the threshold, add the cached residual of blocks 1..N-1, else
//           run them and cache.
// Common to all three (so a comparison differs only in the criterion): state separate for the conditional and
// unconditional CFG passes, steps < warmup always compute, at most max_skips consecutive skips of a block (of the
// stack for teacache/fbcache) before it must run, and threshold <= 0 never skips (bit-identical to no cache).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "reference/model/dit.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sixbit::harness {

enum class CacheKind { kNone, kTdc, kTeaCache, kFbCache };
std::string cache_name(CacheKind k);  // "none", "tdc", "teacache", "fbcache"
CacheKind cache_from_name(const std::string& name);

struct CacheOptions {
  CacheKind kind = CacheKind::kNone;
  double threshold = 0.0;
  int warmup = 2;     // steps 0 .. warmup-1 always compute
  int max_skips = 3;  // consecutive skips before a forced compute
};

// What a cache sees of one forward and how it acts on it (the engine provides these).
struct StackEnv {
  const sampler::StepInfo& info;
  int num_layers;
  model::DitOps& ops;
  const model::DitPrepared& prep;
  std::function<model::Mat(int block, const model::Mat& x)> compute;  // run block b (the engine records it)
  std::function<void(int block)> skip;                                // record block b as skipped
  std::function<void(double flops)> overhead;                         // element-wise work the cache spends
};

class StackCache {
 public:
  virtual ~StackCache() = default;
  // Runs the block stack on x (block 0's input) for one forward; returns the last block's output.
  virtual model::Mat run(StackEnv& env, model::Mat x) = 0;
  // Floats the cache holds now (residuals, input snapshots, embeddings), both passes.
  virtual int64_t resident_floats() const = 0;
  virtual void reset() = 0;  // forget everything (a new video)
};

// nullptr for kNone. Throws sixbit::Error for a negative threshold or warmup, or max_skips < 1.
std::unique_ptr<StackCache> make_cache(const CacheOptions& options);

}  // namespace sixbit::harness
