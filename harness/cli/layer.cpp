// `sixbit layer`: a layer-level emulation (what `sixbit run` was before the video DiT harness): one DiT-shaped
// linear layer (Wan2.1-1.3B's dim 1536, 1024 tokens) with the outlier
// channels real DiT activations have, run in fp32 and through every emulated quantized GEMM, with the output
// error and the weight memory of each. Deterministic: the same --seed gives the same report, bit for bit.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/check.hpp"
#include "emulation/gemm/qgemm.hpp"
#include "harness/cli/args.hpp"
#include "metrics/error_stats.hpp"

namespace sixbit::cli {

const char* const kLayerUsage =
    "usage: sixbit layer [options]\n"
    "Layer-level emulation on an embedded default (`sixbit run` runs the whole video DiT): a DiT-shaped\n"
    "linear layer Y = X W^T + b in fp32 and through W8A8, W4A4 (every NVFP4 recipe) and W4A8, reporting the output\n"
    "error against fp32 and the weight bytes against bf16.\n"
    "options:\n"
    "  --seed N        generator seed (default 1)\n"
    "  --tokens N      rows of X (default 1024)\n"
    "  --dim N         input features K, a multiple of 16 (default 1536, Wan2.1-1.3B)\n"
    "  --out-dim N     output features N (default 1536)\n"
    "  --json PATH     also write the report as JSON (refused if PATH exists)\n"
    "inputs: X ~ N(0,1) with 8 outlier channels scaled x20..x50 (the channel-wise outliers of DiT activations),\n"
    "W ~ N(0, 0.02^2), b ~ N(0, 0.02^2); generator: splitmix64 + Box-Muller (harness/cli/run.cpp).\n";

namespace {

// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed, portable generator; Box-Muller turns pairs of its
// 53-bit uniforms into normals. Documented so other implementations can reproduce the inputs exactly.
struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  float normal() {
    const double u1 = uniform(), u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
};

struct Result {
  std::string config, recipe;
  metrics::ErrorStats err;
  double weight_bytes;
};

}  // namespace

int cmd_layer(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"seed", "tokens", "dim", "out-dim", "json"}, {});
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
  const uint64_t seed = static_cast<uint64_t>(a.get_int("seed", 1, 0, INT64_MAX));
  const int64_t M = a.get_int("tokens", 1024, 1, 1 << 20), K = a.get_int("dim", 1536, 16, 1 << 16), N = a.get_int("out-dim", 1536, 1, 1 << 16);
  SIXBIT_CHECK(K % 16 == 0, "--dim ", K, " is not a multiple of 16 (NVFP4 block size)");
  const std::string json_path = a.get("json", "");
  SIXBIT_CHECK(json_path.empty() || !std::filesystem::exists(json_path), json_path, ": already exists; refusing to overwrite");

  SplitMix64 rng{seed};
  std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K)), bias(static_cast<size_t>(N));
  for (auto& v : x) v = rng.normal();
  for (int c = 0; c < 8; ++c) {  // outlier channels: the same few input features are large in every token
    const int64_t ch = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(K));
    const float gain = 20.0f + 30.0f * static_cast<float>(rng.uniform());
    for (int64_t m = 0; m < M; ++m) x[static_cast<size_t>(m * K + ch)] *= gain;
  }
  for (auto& v : w) v = 0.02f * rng.normal();
  for (auto& v : bias) v = 0.02f * rng.normal();

  // fp32 reference with an fp64 accumulator, so the reference's own rounding is far below what is measured.
  std::vector<float> ref(static_cast<size_t>(M * N));
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[static_cast<size_t>(m * K + k)]) * w[static_cast<size_t>(n * K + k)];
      ref[static_cast<size_t>(m * N + n)] = static_cast<float>(acc + bias[static_cast<size_t>(n)]);
    }

  std::vector<Result> results;
  std::vector<float> y(ref.size());
  const auto x8 = quant::int8_quantize(x.data(), M, K, quant::Int8Granularity::kPerRow);
  const auto w8 = quant::int8_quantize(w.data(), N, K, quant::Int8Granularity::kPerRow);
  gemm::gemm_w8a8(x8, w8, bias.data(), y.data());
  results.push_back({"W8A8", "int8 per-token x per-channel", metrics::compute_error_stats(ref.data(), y.data(), M * N), static_cast<double>(N * K + 4 * N)});
  for (auto r : {quant::Nvfp4Recipe::kTe, quant::Nvfp4Recipe::kModelopt, quant::Nvfp4Recipe::kTorchao, quant::Nvfp4Recipe::kCutlass}) {
    const auto x4 = quant::nvfp4_quantize(x.data(), M, K, r), w4 = quant::nvfp4_quantize(w.data(), N, K, r);
    gemm::gemm_w4a4(x4, w4, bias.data(), y.data());
    const double wbytes = static_cast<double>(w4.packed.size() + w4.scales.size() + 4);
    results.push_back({"W4A4", std::string("nvfp4 ") + std::string(quant::nvfp4_recipe_name(r)), metrics::compute_error_stats(ref.data(), y.data(), M * N), wbytes});
    if (r == quant::Nvfp4Recipe::kTe) {
      gemm::gemm_w4a8(x8, w4, bias.data(), y.data());
      results.push_back({"W4A8", "nvfp4 te x int8 per-token", metrics::compute_error_stats(ref.data(), y.data(), M * N), wbytes});
    }
  }

  const double bf16_bytes = 2.0 * static_cast<double>(N * K);
  std::printf("sixbit layer: layer-level emulation (Y = X W^T + b, X [%lld x %lld] with 8 outlier channels, W [%lld x %lld], seed %llu)\n",
              static_cast<long long>(M), static_cast<long long>(K), static_cast<long long>(N), static_cast<long long>(K),
              static_cast<unsigned long long>(seed));
  std::printf("%-6s %-30s %9s %11s %11s %10s %9s\n", "config", "formats", "SQNR dB", "rel L2", "max err", "W bits", "W vs bf16");
  nlohmann::json report = {{"kind", "layer-emulation"}, {"seed", seed}, {"tokens", M}, {"in_features", K}, {"out_features", N}, {"results", nlohmann::json::array()}};
  for (const auto& r : results) {
    const double bits = 8.0 * r.weight_bytes / static_cast<double>(N * K);
    std::printf("%-6s %-30s %9.2f %11.3e %11.3e %10.3f %8.2fx\n", r.config.c_str(), r.recipe.c_str(), r.err.sqnr_db, r.err.rel_l2, r.err.max_abs, bits,
                bf16_bytes / r.weight_bytes);
    report["results"].push_back({{"config", r.config}, {"formats", r.recipe}, {"sqnr_db", r.err.sqnr_db}, {"rel_l2", r.err.rel_l2}, {"max_abs", r.err.max_abs},
                                 {"weight_bits_per_element", bits}, {"weight_memory_reduction_vs_bf16", bf16_bytes / r.weight_bytes}});
  }
  std::printf("(weights only; the paper's 3.32x is whole-model memory, measured once the DiT runs: not yet measured)\n");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    SIXBIT_CHECK(out.good(), json_path, ": cannot write");
    out << report.dump(2) << "\n";
    SIXBIT_CHECK(out.good(), json_path, ": write failed");
  }
  return 0;
}

}  // namespace sixbit::cli
