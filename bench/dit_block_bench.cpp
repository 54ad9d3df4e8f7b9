// One DiT block forward (reference fp32 backend and the emulator's W8A8 / W4A4 backends) on the tiny and small
// presets, and a whole forward of the small preset, against OpenBLAS SGEMM running the block's own matrix
// products in the same run.
// Build: cmake --build build --target dit_block_bench; run: build/bench/dit_block_bench [--benchmark_filter=small]
//
// FLOPs of a block (2 per multiply-add; norms, RoPE, softmax and modulation are not counted):
//   linears  2 * (tokens * (6 D^2 + 2 D F) + text_len * 2 D^2)   (self q,k,v,o; cross q,o; FFN; cross k,v on text)
//   attention 2 * (2 tokens^2 D + 2 tokens text_len D)            (q.k and p.v, self and cross)
// The baseline BM_BlasBlock/<preset> does exactly those products with cblas_sgemm (each linear as one SGEMM, each
// head's q k^T and p v as one SGEMM each), so "ratio" = time of the block's products on OpenBLAS / time of our whole
// block. Target (issue 4): the small preset's forward <= ~0.25 s on the 2-core dev box.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/sgemm_baseline.hpp"
#include "bench/summary_reporter.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/emulator_ops.hpp"


namespace {
using namespace sixbit;

const char* const kPresets[] = {"tiny", "small"};
const char* const kBackends[] = {"reference", "w8a8", "w4a4"};

struct Model {
  model::DitConfig cfg;
  model::Weights w;
  std::vector<float> latent;
  model::Mat context;
};

Model& get_model(const std::string& preset) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  auto& m = cache[preset];
  if (!m) {
    m = std::make_unique<Model>();
    m->cfg = model::preset(preset);
    m->w = model::synthetic_weights(m->cfg, 1);
    const auto& c = m->cfg;
    m->latent = model::gaussian_normals(2, int64_t(c.in_dim) * c.latent_frames * c.latent_height * c.latent_width);
    m->context = model::Mat(c.text_len, c.text_dim);
    m->context.v = model::gaussian_normals(3, int64_t(m->context.v.size()));
  }
  return *m;
}

std::unique_ptr<model::DitOps> make_ops(int backend) {
  if (backend == 0) return std::make_unique<model::ReferenceOps>();
  const auto p = backend == 1 ? model::LinearPrecision::kW8A8 : model::LinearPrecision::kW4A4;
  return std::make_unique<model::EmulatorOps>(model::PrecisionPlan::uniform(p));
}

double block_flops(const model::DitConfig& c) {
  const double t = double(c.tokens()), d = c.dim, f = c.ffn_dim, l = c.text_len;
  return 2.0 * (t * (6 * d * d + 2 * d * f) + l * 2 * d * d) + 2.0 * (2 * t * t * d + 2 * t * l * d);
}

void set_counters(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = omp_get_max_threads();
}

void BM_Block(benchmark::State& state) {
  Model& m = get_model(kPresets[state.range(0)]);
  auto ops = make_ops(int(state.range(1)));
  const model::DitPrepared prep = model::dit_prepare(m.cfg, m.w, m.latent, 500.0, m.context, *ops);
  model::Mat y = model::dit_block(m.cfg, m.w, prep, 0, prep.x, *ops);  // warm-up: quantized weights cached
  for (auto _ : state) {
    y = model::dit_block(m.cfg, m.w, prep, 0, prep.x, *ops);
    benchmark::DoNotOptimize(y.v.data());
  }
  set_counters(state, block_flops(m.cfg));
  state.SetLabel(std::string(kPresets[state.range(0)]) + "/" + kBackends[state.range(1)]);
}

void BM_BlasBlock(benchmark::State& state) {
#if defined(SIXBIT_HAVE_BLAS)
  const model::DitConfig& c = get_model(kPresets[state.range(0)]).cfg;
  const int t = int(c.tokens()), d = c.dim, f = c.ffn_dim, l = c.text_len, h = c.num_heads, hd = c.dim / c.num_heads;
  std::vector<float> a(size_t(std::max(t, l)) * std::max({d, f, t})), b(size_t(std::max(d, f)) * std::max({d, f, t})),
      y(size_t(std::max(t, l)) * std::max({d, f, t}));
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7) * 0.1f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) * 0.01f;
  auto gemm = [&](int M, int K, int N, int lda, int ldb, int ldc, bool trans_b) {
    bench::sgemm_row_major(M, N, K, a.data(), lda, b.data(), ldb, trans_b, y.data(), ldc);
  };
  for (auto _ : state) {
    for (int i = 0; i < 4; ++i) gemm(t, d, d, d, d, d, true);  // self q, k, v, o
    for (int i = 0; i < 2; ++i) gemm(t, d, d, d, d, d, true);  // cross q, o
    for (int i = 0; i < 2; ++i) gemm(l, d, d, d, d, d, true);  // cross k, v on the context
    gemm(t, d, f, d, d, f, true);                              // ffn.0
    gemm(t, f, d, f, f, d, true);                              // ffn.2
    for (int i = 0; i < h; ++i) {
      gemm(t, hd, t, d, d, t, true);   // self q k^T (one head: strided columns of q and k)
      gemm(t, t, hd, t, d, d, false);  // self p v
      gemm(t, hd, l, d, d, l, true);   // cross q k^T
      gemm(t, l, hd, l, d, d, false);  // cross p v
    }
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, block_flops(c));
  state.SetLabel(std::string(kPresets[state.range(0)]) + "/openblas");
#else
  state.SkipWithError("built without OpenBLAS");
#endif
}

void BM_Forward(benchmark::State& state) {
  Model& m = get_model(kPresets[state.range(0)]);
  auto ops = make_ops(int(state.range(1)));
  std::vector<float> out = model::dit_forward(m.cfg, m.w, m.latent, 500.0, m.context, *ops);
  for (auto _ : state) {
    out = model::dit_forward(m.cfg, m.w, m.latent, 500.0, m.context, *ops);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, block_flops(m.cfg) * m.cfg.num_layers);
  state.SetLabel(std::string(kPresets[state.range(0)]) + "/" + kBackends[state.range(1)] + " forward");
}

BENCHMARK(BM_BlasBlock)->ArgName("preset")->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Block)->ArgNames({"preset", "backend"})->ArgsProduct({{0, 1}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Forward)->ArgNames({"preset", "backend"})->ArgsProduct({{1}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

void print_summary(const sixbit::bench::Rates& rates) {
  std::printf("\n%-34s %10s %10s %8s\n", "run", "GFLOP/s", "BLAS", "ratio");
  for (int p = 0; p < 2; ++p) {
    const auto base = rates.find("BM_BlasBlock/preset:" + std::to_string(p) + "/real_time");
    const double blas = base == rates.end() ? 0.0 : base->second;
    for (int b = 0; b < 3; ++b) {
      for (const char* kind : {"BM_Block", "BM_Forward"}) {
        const auto it = rates.find(std::string(kind) + "/preset:" + std::to_string(p) + "/backend:" + std::to_string(b) + "/real_time");
        if (it == rates.end()) continue;
        const std::string what = std::string(kPresets[p]) + " " + kBackends[b] + (kind[3] == 'F' ? " forward" : " block");
        std::printf("%-34s %10.2f %10.2f %7.2fx", what.c_str(), it->second, blas, blas > 0 ? it->second / blas : 0.0);
        if (kind[3] == 'F') {
          const double secs = block_flops(model::preset(kPresets[p])) * model::preset(kPresets[p]).num_layers / (it->second * 1e9);
          std::printf("   %.3f s per forward%s", secs, b == 0 ? (secs <= 0.25 ? " (target <= 0.25 s: met)" : " (target <= 0.25 s: MISSED)") : "");
        }
        std::printf("\n");
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  sixbit::bench::SummaryReporter reporter("GFLOP/s", 1.0, print_summary);
  return sixbit::bench::run_with_summary(argc, argv, reporter);
}
