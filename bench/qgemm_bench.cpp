// Quantized GEMMs on DiT shapes against OpenBLAS SGEMM on the same shape in the same run.
// Build: scripts/build.sh; run: build/bench/qgemm_bench [--benchmark_filter=M:4096] [--benchmark_min_time=0.5]
// Each benchmark reports GFLOP/s (2*M*N*K per call); the summary printed last gives each kernel's ratio to
// SGEMM. Targets (issue 2): W8A8 >= 1.0x SGEMM, W4A4 and W4A8 >= 0.5x SGEMM.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/sgemm_baseline.hpp"
#include "bench/summary_reporter.hpp"
#include "emulation/gemm/qgemm.hpp"


namespace {
using namespace sixbit;

struct Operands {
  int64_t M, N, K;
  std::vector<float> a, w, y;
  quant::Int8Tensor a8, w8;
  quant::Nvfp4Tensor a4, w4;
};

Operands& operands(int64_t M, int64_t N, int64_t K) {
  static std::map<std::tuple<int64_t, int64_t, int64_t>, Operands> cache;
  auto [it, fresh] = cache.try_emplace({M, N, K});
  Operands& o = it->second;
  if (fresh) {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    o.M = M, o.N = N, o.K = K;
    o.a.resize(static_cast<size_t>(M * K));
    o.w.resize(static_cast<size_t>(N * K));
    o.y.resize(static_cast<size_t>(M * N));
    for (auto& v : o.a) v = nd(rng);
    for (auto& v : o.w) v = 0.02f * nd(rng);
    o.a8 = quant::int8_quantize(o.a.data(), M, K, quant::Int8Granularity::kPerRow);
    o.w8 = quant::int8_quantize(o.w.data(), N, K, quant::Int8Granularity::kPerRow);
    o.a4 = quant::nvfp4_quantize(o.a.data(), M, K, quant::Nvfp4Recipe::kTe);
    o.w4 = quant::nvfp4_quantize(o.w.data(), N, K, quant::Nvfp4Recipe::kTe);
  }
  return o;
}

template <typename Fn>
void run(benchmark::State& state, const char* kernel, Fn fn) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  Operands& o = operands(M, N, K);
  for (auto _ : state) {
    fn(o);
    benchmark::DoNotOptimize(o.y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * M * N * K;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = omp_get_max_threads();
  state.SetLabel(kernel);
}

void BM_SGEMM(benchmark::State& s) {
#if defined(SIXBIT_HAVE_BLAS)
  run(s, "sgemm", [](Operands& o) {
    // Y[M,N] = A[M,K] * W[N,K]^T (TN, like nn.Linear).
    bench::sgemm_row_major(int(o.M), int(o.N), int(o.K), o.a.data(), int(o.K), o.w.data(), int(o.K), true, o.y.data(), int(o.N));
  });
#else
  s.SkipWithError("built without OpenBLAS");
#endif
}
void BM_W8A8(benchmark::State& s) { run(s, "w8a8", [](Operands& o) { gemm::gemm_w8a8(o.a8, o.w8, nullptr, o.y.data()); }); }
void BM_W4A4(benchmark::State& s) { run(s, "w4a4", [](Operands& o) { gemm::gemm_w4a4(o.a4, o.w4, nullptr, o.y.data()); }); }
void BM_W4A8(benchmark::State& s) { run(s, "w4a8", [](Operands& o) { gemm::gemm_w4a8(o.a8, o.w4, nullptr, o.y.data()); }); }

void dit_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N"});
  for (auto [k, n] : {std::pair{1536, 1536}, {1536, 8960}, {8960, 1536}}) b->Args({4096, k, n});
  b->Args({256, 256, 256});  // quick shape for smoke runs: --benchmark_filter=M:256/
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_SGEMM)->Apply(dit_shapes);
BENCHMARK(BM_W8A8)->Apply(dit_shapes);
BENCHMARK(BM_W4A4)->Apply(dit_shapes);
BENCHMARK(BM_W4A8)->Apply(dit_shapes);

// Ratios of each kernel to SGEMM of the same shape, measured in this run.
void print_sgemm_ratios(const sixbit::bench::Rates& rates) {
  std::printf("\n%-28s %10s %10s %8s  %s\n", "kernel/shape", "GFLOP/s", "SGEMM", "ratio", "target");
  for (const auto& [name, rate] : rates) {
    if (name.rfind("BM_SGEMM", 0) == 0) continue;
    const std::string shape = name.substr(name.find('/'));
    const auto base = rates.find("BM_SGEMM" + shape);
    if (base == rates.end()) continue;
    const bool w8 = name.rfind("BM_W8A8", 0) == 0;
    const double ratio = rate / base->second, target = w8 ? 1.0 : 0.5;
    std::printf("%-28s %10.1f %10.1f %7.2fx  >= %.1fx %s\n", name.c_str() + 3, rate, base->second, ratio, target, ratio >= target ? "met" : "MISSED");
  }
}

}  // namespace

int main(int argc, char** argv) {
  sixbit::bench::SummaryReporter reporter("GFLOP/s", 1.0, print_sgemm_ratios);
  return sixbit::bench::run_with_summary(argc, argv, reporter);
}
