// sixbit/harness/tdc/tdc.cpp: the Temporal Delta Cache (see cache.hpp) and the cache factory.
#include <cmath>
#include <vector>

#include "common/check.hpp"
#include "harness/tdc/cache.hpp"

namespace sixbit::harness {

std::unique_ptr<StackCache> make_teacache(const CacheOptions& o);  // baselines.cpp
std::unique_ptr<StackCache> make_fbcache(const CacheOptions& o);

namespace {

class TemporalDeltaCache : public StackCache {
 public:
  explicit TemporalDeltaCache(const CacheOptions& o) : o_(o) {}

  model::Mat run(StackEnv& env, model::Mat x) override {
    auto& blocks = state_[env.info.cond ? 0 : 1];
    blocks.resize(size_t(env.num_layers));
    const double n = double(x.rows * x.cols);
    for (int b = 0; b < env.num_layers; ++b) {
      Block& s = blocks[size_t(b)];
      bool skip = false;
      if (env.info.step >= o_.warmup && s.valid && s.skips < o_.max_skips) {
        // The block's input now against its input when it last ran: the accumulated change since then, measured
        // directly (a sum of per-step changes would only bound it from above and drift).
        const double change = env.ops.diff_norms(x, s.input).rel_l1();
        env.overhead(3 * n);
        skip = change < o_.threshold;  // strict: threshold 0 never skips, whatever the change
      }
      if (skip) {
        env.ops.gated_add(x, s.residual, nullptr, 0);  // x += cached residual
        env.overhead(n);
        env.skip(b);
        ++s.skips;
        continue;
      }
      model::Mat out = env.compute(b, x);
      // Kept even at threshold 0: the cache's work then runs in full and must leave the stream's bits alone
      // (tests/unit/harness_tdc_test.cpp checks threshold 0 against the uncached run bit for bit).
      s.residual = env.ops.sub(out, x);
      s.input = env.ops.clone(x);
      s.valid = true;
      env.overhead(n);
      s.skips = 0;
      x = std::move(out);
    }
    return x;
  }

  int64_t resident_floats() const override {
    int64_t f = 0;
    for (const auto& pass : state_)
      for (const Block& s : pass)
        if (s.valid) f += s.residual.rows * s.residual.cols + s.input.rows * s.input.cols;
    return f;
  }

  void reset() override {
    for (auto& p : state_) p.clear();
  }

 private:
  struct Block {
    model::Mat residual, input;
    bool valid = false;
    int skips = 0;
  };
  CacheOptions o_;
  std::vector<Block> state_[2];  // [0] conditional pass, [1] unconditional
};

}  // namespace

std::string cache_name(CacheKind k) {
  switch (k) {
    case CacheKind::kTdc: return "tdc";
    case CacheKind::kTeaCache: return "teacache";
    case CacheKind::kFbCache: return "fbcache";
    default: return "none";
  }
}

CacheKind cache_from_name(const std::string& name) {
  for (CacheKind k : {CacheKind::kNone, CacheKind::kTdc, CacheKind::kTeaCache, CacheKind::kFbCache})
    if (name == cache_name(k)) return k;
  SIXBIT_CHECK(false, "unknown cache '", name, "' (known: none, tdc, teacache, fbcache)");
  return CacheKind::kNone;
}

std::unique_ptr<StackCache> make_cache(const CacheOptions& o) {
  SIXBIT_CHECK(std::isfinite(o.threshold) && o.threshold >= 0, "cache threshold ", o.threshold, " must be >= 0");
  SIXBIT_CHECK(o.warmup >= 0, "cache warm-up ", o.warmup, " must be >= 0");
  SIXBIT_CHECK(o.max_skips >= 1, "cache max consecutive skips ", o.max_skips, " must be >= 1");
  switch (o.kind) {
    case CacheKind::kTdc: return std::make_unique<TemporalDeltaCache>(o);
    case CacheKind::kTeaCache: return make_teacache(o);
    case CacheKind::kFbCache: return make_fbcache(o);
    default: return nullptr;
  }
}

}  // namespace sixbit::harness
