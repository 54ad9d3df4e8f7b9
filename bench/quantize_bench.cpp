// Quantizers on one core, in GB/s of fp32 input, against a plain memcpy of the same bytes in the same run.
// Run: OMP_NUM_THREADS=1 build/bench/quantize_bench   (the summary printed last gives the ratios)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/summary_reporter.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"

namespace {
using namespace sixbit;

constexpr int64_t kRows = 4096, kCols = 1536;  // one DiT activation: 4096 tokens x 1536 features, 24 MiB fp32

const std::vector<float>& input() {
  static const std::vector<float> x = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> v(static_cast<size_t>(kRows * kCols));
    for (auto& e : v) e = nd(rng);
    return v;
  }();
  return x;
}

void set_bytes(benchmark::State& s) {
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * kRows * kCols * 4);
  s.counters["threads"] = omp_get_max_threads();
}

void BM_Memcpy(benchmark::State& s) {
  const auto& x = input();
  std::vector<float> y(x.size());
  for (auto _ : s) {
    std::memcpy(y.data(), x.data(), x.size() * 4);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_bytes(s);
}
void BM_Nvfp4Te(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(quant::nvfp4_quantize(input().data(), kRows, kCols, quant::Nvfp4Recipe::kTe));
  set_bytes(s);
}
void BM_Nvfp4Torchao(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(quant::nvfp4_quantize(input().data(), kRows, kCols, quant::Nvfp4Recipe::kTorchao));
  set_bytes(s);
}
void BM_Int8PerRow(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(quant::int8_quantize(input().data(), kRows, kCols, quant::Int8Granularity::kPerRow));
  set_bytes(s);
}
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Nvfp4Te)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Nvfp4Torchao)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Int8PerRow)->Unit(benchmark::kMillisecond)->UseRealTime();

// GB/s per core of each quantizer and its ratio to the memcpy of the same bytes, measured in this run.
void print_copy_ratios(const sixbit::bench::Rates& rates) {
  const auto base = rates.find("BM_Memcpy/real_time");
  if (base == rates.end()) return;
  std::printf("\n%-28s %12s %8s   (fp32 input GB/s per core; memcpy of the same bytes in this run)\n", "quantizer", "GB/s/core", "vs copy");
  for (const auto& [name, rate] : rates) std::printf("%-28s %12.2f %7.2fx\n", name.c_str() + 3, rate * 1e-9, rate / base->second);
}

}  // namespace

int main(int argc, char** argv) {
  sixbit::bench::SummaryReporter reporter("bytes_per_second", omp_get_max_threads(), print_copy_ratios);
  return sixbit::bench::run_with_summary(argc, argv, reporter);
}
