// sixbit/harness/tdc/baselines.cpp: TeaCache-style and First-Block-Cache-style stack caches (see cache.hpp for the
// sources read), under the same warm-up, skip cap and per-pass state as the Temporal Delta Cache.
#include "harness/tdc/cache.hpp"

namespace sixbit::harness {

namespace {

class TeaCache : public StackCache {
 public:
  explicit TeaCache(const CacheOptions& o) : o_(o) {}

  model::Mat run(StackEnv& env, model::Mat x) override {
    Pass& p = pass_[env.info.cond ? 0 : 1];
    bool calc = true;
    if (env.info.step < o_.warmup || !p.has_prev) {
      p.accumulated = 0;
    } else {
      // TeaCache: ((mod - prev).abs().mean() / prev.abs().mean()), rescaled (identity here), accumulated.
      p.accumulated += env.ops.diff_norms(env.prep.e0, p.prev_e0).rel_l1();
      env.overhead(3.0 * double(p.prev_e0.cols));
      if (p.accumulated < o_.threshold && p.has_residual && p.skips < o_.max_skips)
        calc = false;
      else
        p.accumulated = 0;
    }
    p.prev_e0 = env.ops.clone(env.prep.e0);
    p.has_prev = true;
    const double n = double(x.rows * x.cols);
    if (!calc) {
      env.ops.gated_add(x, p.residual, nullptr, 0);
      env.overhead(n);
      for (int b = 0; b < env.num_layers; ++b) env.skip(b);
      ++p.skips;
      return x;
    }
    const model::Mat in = env.ops.clone(x);
    for (int b = 0; b < env.num_layers; ++b) x = env.compute(b, x);
    p.residual = env.ops.sub(x, in);
    p.has_residual = true;
    p.skips = 0;
    env.overhead(n);
    return x;
  }

  int64_t resident_floats() const override {
    int64_t f = 0;
    for (const Pass& p : pass_) f += (p.has_residual ? p.residual.rows * p.residual.cols : 0) + (p.has_prev ? p.prev_e0.cols : 0);
    return f;
  }
  void reset() override {
    for (Pass& p : pass_) p = Pass{};
  }

 private:
  struct Pass {
    model::Mat prev_e0, residual;
    bool has_prev = false, has_residual = false;
    double accumulated = 0;
    int skips = 0;
  };
  CacheOptions o_;
  Pass pass_[2];
};

class FirstBlockCache : public StackCache {
 public:
  explicit FirstBlockCache(const CacheOptions& o) : o_(o) {}

  model::Mat run(StackEnv& env, model::Mat x) override {
    Pass& p = pass_[env.info.cond ? 0 : 1];
    const double n = double(x.rows * x.cols);
    model::Mat out0 = env.compute(0, x);
    model::Mat r0 = env.ops.sub(out0, x);
    env.overhead(n);
    bool use = false;
    if (env.info.step >= o_.warmup && p.valid && p.skips < o_.max_skips) {
      // ParaAttention are_two_tensors_similar(prev, cur): mean|prev - cur| / mean|prev| < threshold.
      use = env.ops.diff_norms(r0, p.first_residual).rel_l1() < o_.threshold;
      env.overhead(3 * n);
    }
    if (use) {
      env.ops.gated_add(out0, p.rest_residual, nullptr, 0);
      env.overhead(n);
      for (int b = 1; b < env.num_layers; ++b) env.skip(b);
      ++p.skips;
      return out0;
    }
    p.first_residual = std::move(r0);  // only a computing step updates the reference residual (ParaAttention)
    model::Mat h = env.ops.clone(out0);
    for (int b = 1; b < env.num_layers; ++b) h = env.compute(b, h);
    p.rest_residual = env.ops.sub(h, out0);
    env.overhead(n);
    p.valid = true;
    p.skips = 0;
    return h;
  }

  int64_t resident_floats() const override {
    int64_t f = 0;
    for (const Pass& p : pass_)
      if (p.valid) f += 2 * p.rest_residual.rows * p.rest_residual.cols;
    return f;
  }
  void reset() override {
    for (Pass& p : pass_) p = Pass{};
  }

 private:
  struct Pass {
    model::Mat first_residual, rest_residual;
    bool valid = false;
    int skips = 0;
  };
  CacheOptions o_;
  Pass pass_[2];
};

}  // namespace

std::unique_ptr<StackCache> make_teacache(const CacheOptions& o) { return std::make_unique<TeaCache>(o); }
std::unique_ptr<StackCache> make_fbcache(const CacheOptions& o) { return std::make_unique<FirstBlockCache>(o); }

}  // namespace sixbit::harness
