// Residual caches (harness/tdc/): threshold 0 is bit-identical to no cache for all three while their bookkeeping
// runs; huge thresholds give exactly the skip pattern the warm-up, the skip cap and per-pass state imply (a shared
// state would break the pattern of the second pass); TeaCache skips the stack, FBCache all but block 0; a larger
// threshold never skips less; skipping costs accuracy but not NaNs.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>

#include "common/check.hpp"
#include "harness/engine/engine.hpp"

// One OpenMP thread: these tiny-model tests gain nothing from threads, and ctest runs two tests at once on 2 cores,
// where spinning OpenMP workers make small ops many times slower. Thread-count independence of the whole pipeline
// is tested through the command (tests/cli/run_cli_test.cpp: 1 vs 2 threads, identical reports).
static const int kOneThread = [] {
  omp_set_num_threads(1);
  return 1;
}();

namespace sh = sixbit::harness;
namespace sm = sixbit::model;

namespace {
struct Tiny {
  sm::DitConfig cfg = sm::config_from_json_text(R"({"preset": "tiny", "num_layers": 3})");
  sm::Weights w = sm::synthetic_weights(cfg, 5);
  sm::Mat cond{4, cfg.text_dim}, uncond{1, cfg.text_dim};
  sm::ReferenceOps ops;
  Tiny() {
    cond.v = sm::gaussian_normals(1, int64_t(cond.v.size()));
    uncond.v = sm::gaussian_normals(2, int64_t(uncond.v.size()));
  }
  std::vector<float> run(const sh::CacheOptions& c, int steps, std::vector<sh::ForwardRecord>* recs = nullptr,
                         sh::EngineCounters* counters = nullptr) {
    sh::EngineOptions o;
    o.cache = c;
    sh::Engine e(cfg, w, ops, o);
    auto out = sh::sample_video(e, cfg, sixbit::sampler::Solver::kEuler, steps, 3.0, 4.0, 9, cond, uncond);
    if (recs) *recs = e.records();
    if (counters) *counters = e.counters();
    return out;
  }
};
std::string skip_map(const sh::ForwardRecord& r) {
  std::string s;
  for (const auto& b : r.blocks) s += b.skipped ? '.' : 'R';
  return s;
}
}  // namespace

TEST(HarnessTdc, ThresholdZeroIsBitIdenticalToNoCache) {
  Tiny t;
  const auto ref = t.run({}, 6);
  for (sh::CacheKind k : {sh::CacheKind::kTdc, sh::CacheKind::kTeaCache, sh::CacheKind::kFbCache}) {
    sh::EngineCounters c;
    const auto out = t.run({k, 0.0, 0, 100}, 6, nullptr, &c);
    ASSERT_EQ(out.size(), ref.size());
    EXPECT_EQ(std::memcmp(out.data(), ref.data(), ref.size() * 4), 0) << sh::cache_name(k);
    EXPECT_EQ(c.blocks_skipped, 0) << sh::cache_name(k);
    EXPECT_GT(c.peak_cache_floats, 0) << sh::cache_name(k) << ": the cache must have run (stored residuals)";
  }
}

TEST(HarnessTdc, WarmupCapAndSeparatePassState) {
  // A huge threshold skips whenever allowed: steps 0, 1 (warm-up) compute; then each block alternates skip, run
  // with max_skips = 1; the same pattern in both passes only if each pass keeps its own state.
  Tiny t;
  std::vector<sh::ForwardRecord> recs;
  sh::EngineCounters c;
  t.run({sh::CacheKind::kTdc, 1e300, 2, 1}, 7, &recs, &c);
  ASSERT_EQ(recs.size(), 14u);
  const char* expect[] = {"RRR", "RRR", "...", "RRR", "...", "RRR", "..."};
  for (const auto& r : recs) EXPECT_EQ(skip_map(r), expect[r.step]) << "step " << r.step << (r.cond ? " cond" : " uncond");
  EXPECT_EQ(c.blocks_skipped, 3 * 3 * 2);
  // max_skips = 2: R R . . R . .
  t.run({sh::CacheKind::kTdc, 1e300, 2, 2}, 7, &recs);
  const char* expect2[] = {"RRR", "RRR", "...", "...", "RRR", "...", "..."};
  for (const auto& r : recs) EXPECT_EQ(skip_map(r), expect2[r.step]) << "step " << r.step;
}

TEST(HarnessTdc, TeaCacheSkipsTheStackAndFbCacheKeepsBlockZero) {
  Tiny t;
  std::vector<sh::ForwardRecord> recs;
  t.run({sh::CacheKind::kTeaCache, 1e300, 1, 1}, 5, &recs);
  const char* tea[] = {"RRR", "...", "RRR", "...", "RRR"};
  for (const auto& r : recs) EXPECT_EQ(skip_map(r), tea[r.step]) << "teacache step " << r.step;
  t.run({sh::CacheKind::kFbCache, 1e300, 1, 1}, 5, &recs);
  // Step 0 computes everything (warm-up); step 1 may use the cache: block 0 runs, 1..2 come from the cache.
  const char* fb[] = {"RRR", "R..", "RRR", "R..", "RRR"};
  for (const auto& r : recs) EXPECT_EQ(skip_map(r), fb[r.step]) << "fbcache step " << r.step;
}

TEST(HarnessTdc, LargerThresholdSkipsMoreAndCostsAccuracy) {
  Tiny t;
  const auto ref = t.run({}, 12);
  double ref2 = 0;
  for (float v : ref) ref2 += double(v) * v;
  for (sh::CacheKind k : {sh::CacheKind::kTdc, sh::CacheKind::kTeaCache, sh::CacheKind::kFbCache}) {
    int64_t last_skips = -1;
    for (double th : {0.01, 0.05, 0.2, 1.0, 5.0}) {
      sh::EngineCounters c;
      const auto out = t.run({k, th, 2, 3}, 12, nullptr, &c);
      double e2 = 0;
      for (size_t i = 0; i < out.size(); ++i) {
        ASSERT_TRUE(std::isfinite(out[i]));
        e2 += (double(out[i]) - ref[i]) * (double(out[i]) - ref[i]);
      }
      EXPECT_GE(c.blocks_skipped, last_skips) << sh::cache_name(k) << " threshold " << th;
      if (c.blocks_skipped > 0) {
        EXPECT_GT(e2, 0.0) << "skipping must change the result";
      } else {
        EXPECT_EQ(e2, 0.0);
      }
      last_skips = c.blocks_skipped;
      std::printf("%-8s threshold %-5g skip rate %.2f rel L2 %.3e\n", sh::cache_name(k).c_str(), th, c.skip_rate(),
                  std::sqrt(e2 / ref2));
    }
    EXPECT_GT(last_skips, 0) << sh::cache_name(k) << ": some threshold must skip";
  }
}

TEST(HarnessTdc, BadOptionsAreRefused) {
  EXPECT_THROW(sh::make_cache({sh::CacheKind::kTdc, -1.0, 2, 3}), sixbit::Error);
  EXPECT_THROW(sh::make_cache({sh::CacheKind::kTdc, NAN, 2, 3}), sixbit::Error);
  EXPECT_THROW(sh::make_cache({sh::CacheKind::kTdc, 0.1, -1, 3}), sixbit::Error);
  EXPECT_THROW(sh::make_cache({sh::CacheKind::kTdc, 0.1, 2, 0}), sixbit::Error);
  EXPECT_THROW(sh::cache_from_name("magcache"), sixbit::Error);
  EXPECT_EQ(sh::make_cache({}), nullptr);
}
