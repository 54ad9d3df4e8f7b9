// sixbit/bench/summary_reporter.hpp: the console reporter every sixbit benchmark uses. It prints Google
// Benchmark's usual table, keeps one counter per run, and at the end hands the collected rates to a summary
// function that prints ratios against the baseline measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <string>
#include <utility>

namespace sixbit::bench {

using Rates = std::map<std::string, double>;  // benchmark name -> counter value

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter(std::string counter, double divisor, std::function<void(const Rates&)> summary)
      : counter_(std::move(counter)), divisor_(divisor), summary_(std::move(summary)) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      const auto it = r.counters.find(counter_);
      if (it != r.counters.end() && !r.error_occurred) rates_[r.benchmark_name()] = it->second.value / divisor_;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    summary_(rates_);
  }

 private:
  std::string counter_;
  double divisor_;
  std::function<void(const Rates&)> summary_;
  Rates rates_;
};

// main() of a benchmark program: run what the command line selects, then print the summary.
inline int run_with_summary(int argc, char** argv, SummaryReporter& reporter) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace sixbit::bench
