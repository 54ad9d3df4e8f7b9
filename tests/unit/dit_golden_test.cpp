// The C++ Wan2.1 DiT against the PyTorch mirror (experiments/wan_dit.py), through the fixture written by
// experiments/make_golden.py (tests/fixtures/dit_tiny_golden.bin; format described there).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reference/model/dit.hpp"

namespace sm = sixbit::model;

namespace {

struct Fixture {
  nlohmann::json meta;
  std::map<std::string, sm::Tensor> t;
};

template <typename T>
T read_pod(std::ifstream& in) {
  T v{};
  in.read(reinterpret_cast<char*>(&v), sizeof(T));
  if (!in) throw std::runtime_error("fixture truncated");
  return v;
}

Fixture load_fixture() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "dit_tiny_golden.bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string() + " (regenerate: .venv/bin/python experiments/make_golden.py)");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "SBDITGLD", 8) != 0) throw std::runtime_error("bad fixture magic");
  if (read_pod<uint32_t>(in) != 1) throw std::runtime_error("unsupported fixture version");
  std::string js(read_pod<uint32_t>(in), '\0');
  in.read(js.data(), std::streamsize(js.size()));
  Fixture f;
  f.meta = nlohmann::json::parse(js);
  const uint32_t count = read_pod<uint32_t>(in);
  for (uint32_t i = 0; i < count; ++i) {
    std::string name(read_pod<uint32_t>(in), '\0');
    in.read(name.data(), std::streamsize(name.size()));
    sm::Tensor t;
    const uint32_t nd = read_pod<uint32_t>(in);
    for (uint32_t d = 0; d < nd; ++d) t.shape.push_back(read_pod<int64_t>(in));
    t.data.resize(size_t(t.numel()));
    in.read(reinterpret_cast<char*>(t.data.data()), std::streamsize(t.data.size() * 4));
    if (!in) throw std::runtime_error("fixture truncated in " + name);
    f.t.emplace(name, std::move(t));
  }
  return f;
}

const Fixture& fixture() {
  static const Fixture f = load_fixture();
  return f;
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

}  // namespace

TEST(DitGolden, FixtureConfigIsTheTinyPreset) {
  const auto& c = fixture().meta["config"];
  const sm::DitConfig t = sm::preset("tiny");
  EXPECT_EQ(c["dim"], t.dim);
  EXPECT_EQ(c["ffn_dim"], t.ffn_dim);
  EXPECT_EQ(c["num_heads"], t.num_heads);
  EXPECT_EQ(c["num_layers"], t.num_layers);
  EXPECT_EQ(c["freq_dim"], t.freq_dim);
  EXPECT_EQ(c["text_dim"], t.text_dim);
  EXPECT_EQ(c["text_len"], t.text_len);
  EXPECT_EQ(c["in_dim"], t.in_dim);
  EXPECT_EQ(c["out_dim"], t.out_dim);
  EXPECT_EQ(c["latent_frames"], t.latent_frames);
  EXPECT_EQ(c["latent_height"], t.latent_height);
  EXPECT_EQ(c["latent_width"], t.latent_width);
  EXPECT_EQ(float(c["eps"].get<double>()), t.eps);
}

// The C++ generator and the Python one (an independent transcription of the same documented algorithm) must
// agree bit for bit on every weight: names, shapes, values.
TEST(DitGolden, SyntheticWeightsMatchPythonBitForBit) {
  const auto& f = fixture();
  const sm::Weights w = sm::synthetic_weights(sm::preset("tiny"), f.meta["seed"].get<uint64_t>());
  size_t checked = 0, mismatches = 0;
  for (const auto& [name, t] : w) {
    auto it = f.t.find(name);
    ASSERT_NE(it, f.t.end()) << name;
    ASSERT_EQ(it->second.shape, t.shape) << name;
    for (size_t i = 0; i < t.data.size(); ++i, ++checked) mismatches += bits(t.data[i]) != bits(it->second.data[i]);
  }
  EXPECT_EQ(mismatches, 0u) << "of " << checked << " weights";
  EXPECT_GT(checked, 100000u);
}

// Bound. Both sides are fp32 implementations of the same math with different summation orders (our sequential
// dots vs PyTorch's vectorized/blocked GEMMs, pairwise norms, different exp/tanh). Neither is "the" answer, so we
// measure both against the fp64 run of the same PyTorch model on the same fp32 weights and inputs:
// E_torch = max|torch_fp32 - fp64| is the size of fp32 rounding error this exact computation accumulates. A
// correct fp32 implementation's error is the same order; a sequential dot of length n has random-walk error
// ~sqrt(n) u vs ~sqrt(n/16) u for a 16-lane vector sum, a factor sqrt(16) = 4, so we allow 8 * E_torch (2x margin),
// plus half an ulp of the largest reference value because the fp64 run was stored rounded to fp32. A wrong
// operation (layout, RoPE split, modulation chunk, norm) gives errors of O(activation size), 10^4 x larger.
// E_cpp must also be > 0: an fp32 computation that equals the fp64 one everywhere is not computing in fp32.
TEST(DitGolden, ForwardMatchesPyTorchAtEveryBlockWithinDerivedBound) {
  const auto& f = fixture();
  const sm::DitConfig cfg = sm::preset("tiny");
  sm::Weights w;
  for (const auto& [name, shape] : sm::weight_shapes(cfg)) w.emplace(name, f.t.at(name));
  const sm::Tensor& ctx_t = f.t.at("input.context");
  sm::Mat ctx(ctx_t.shape[0], ctx_t.shape[1]);
  ctx.v = ctx_t.data;
  std::vector<std::vector<float>> taps;
  sm::ReferenceOps ops;
  std::vector<float> out = sm::dit_forward(cfg, w, f.t.at("input.latent").data, f.meta["timestep"].get<double>(), ctx,
                                           ops, [&](int, const sm::Mat& x) { taps.push_back(x.v); });
  ASSERT_EQ(int(taps.size()), cfg.num_layers);
  taps.push_back(out);
  for (size_t i = 0; i < taps.size(); ++i) {
    const std::string key = i < size_t(cfg.num_layers) ? "block." + std::to_string(i) : "output";
    const auto& t32 = f.t.at("fp32." + key).data;
    const auto& t64 = f.t.at("fp64." + key).data;
    ASSERT_EQ(taps[i].size(), t32.size()) << key;
    double e_torch = 0, e_cpp = 0, e_pair = 0, ref_max = 0, sum_sq = 0;
    for (size_t j = 0; j < t32.size(); ++j) {
      ASSERT_TRUE(std::isfinite(taps[i][j])) << key << " [" << j << "]";
      e_torch = std::max(e_torch, std::fabs(double(t32[j]) - t64[j]));
      e_cpp = std::max(e_cpp, std::fabs(double(taps[i][j]) - t64[j]));
      e_pair = std::max(e_pair, std::fabs(double(taps[i][j]) - t32[j]));
      ref_max = std::max(ref_max, std::fabs(double(t64[j])));
      sum_sq += double(taps[i][j]) * taps[i][j];
    }
    const double bound = 8.0 * e_torch + 0.5 * ref_max * 0x1.0p-23;
    std::printf("  %-8s max|ref| %.3f  E_torch %.3e  E_cpp %.3e (bound %.3e)  max|cpp - torch32| %.3e\n",
                key.c_str(), ref_max, e_torch, e_cpp, bound, e_pair);
    EXPECT_GT(sum_sq, 0.0) << key << ": output is all zeros";
    EXPECT_GT(e_torch, 0.0) << key << ": fixture fp32 and fp64 runs identical, the fixture is suspect";
    EXPECT_GT(e_cpp, 0.0) << key << ": C++ fp32 equals fp64 exactly everywhere";
    EXPECT_LE(e_cpp, bound) << key;
  }
}
