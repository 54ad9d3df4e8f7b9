// sixbit/reference/model/synthetic_weights.cpp: Wan2.1 tensor names/shapes and the seeded synthetic weights.
#include <cmath>

#include "common/check.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::model {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> weight_shapes(const DitConfig& c) {
  const int64_t D = c.dim, F = c.ffn_dim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> s;
  auto lin = [&](const std::string& n, int64_t out, int64_t in) {
    s.push_back({n + ".weight", {out, in}});
    s.push_back({n + ".bias", {out}});
  };
  s.push_back({"patch_embedding.weight", {D, c.in_dim, c.patch_t, c.patch_h, c.patch_w}});
  s.push_back({"patch_embedding.bias", {D}});
  lin("text_embedding.0", D, c.text_dim);
  lin("text_embedding.2", D, D);
  lin("time_embedding.0", D, c.freq_dim);
  lin("time_embedding.2", D, D);
  lin("time_projection.1", 6 * D, D);
  for (int b = 0; b < c.num_layers; ++b) {
    const std::string p = "blocks." + std::to_string(b) + ".";
    for (const char* a : {"self_attn", "cross_attn"}) {
      for (const char* l : {"q", "k", "v", "o"}) lin(p + a + "." + l, D, D);
      s.push_back({p + a + ".norm_q.weight", {D}});
      s.push_back({p + a + ".norm_k.weight", {D}});
    }
    s.push_back({p + "norm3.weight", {D}});
    s.push_back({p + "norm3.bias", {D}});
    lin(p + "ffn.0", F, D);
    lin(p + "ffn.2", D, F);
    s.push_back({p + "modulation", {1, 6, D}});
  }
  lin("head.head", int64_t(c.out_dim) * c.patch_volume(), D);
  s.push_back({"head.modulation", {1, 2, D}});
  return s;
}

void check_weights(const DitConfig& cfg, const Weights& w) {
  for (const auto& [name, shape] : weight_shapes(cfg)) {
    auto it = w.find(name);
    SIXBIT_CHECK(it != w.end(), "dit weights: missing tensor '", name, "'");
    SIXBIT_CHECK(it->second.shape == shape, "dit weights: tensor '", name, "' has the wrong shape");
    SIXBIT_CHECK(int64_t(it->second.data.size()) == it->second.numel(), "dit weights: tensor '", name,
                 "' data size does not match its shape");
  }
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis and prime (Fowler/Noll/Vo)
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001b3ULL;
  return h;
}

std::vector<float> gaussian_normals(uint64_t state, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  const double two_pi = 6.283185307179586;
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t a = splitmix64(state), b = splitmix64(state);
    const double u1 = double((a >> 11) + 1) * 0x1.0p-53, u2 = double(b >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[size_t(i)] = float(r * std::cos(two_pi * u2));
    if (i + 1 < n) out[size_t(i + 1)] = float(r * std::sin(two_pi * u2));
  }
  return out;
}

std::vector<int> outlier_channels(const DitConfig& cfg, uint64_t seed) {
  std::vector<int> ch;
  for (int c = 0; c < cfg.dim; ++c) {
    uint64_t st = (seed ^ 0x6f75746c69657273ULL) + uint64_t(c);
    if (c == 0 || splitmix64(st) % 32 == 0) ch.push_back(c);
  }
  return ch;
}

static bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// Scales: Linear/Conv weights N(0, 1/fan_in) (variance-preserving, like Xavier for square layers); biases
// N(0, 0.02^2); RMSNorm/LayerNorm weights 1 + N(0, 0.1^2), LayerNorm bias N(0, 0.02^2); modulations
// N(0, 1/dim) as Wan's own init (randn(1, 6, dim) / dim**0.5 in model.py). Outliers: the rows of self_attn.o,
// ffn.2 and patch_embedding that write the outlier hidden channels are scaled by 8, so those residual-stream
// channels are ~8x larger at every block, the pattern that makes activation quantization of real DiTs hard
// (a few persistent large channels); LayerNorm does not remove them, it only rescales the row.
Weights synthetic_weights(const DitConfig& cfg, uint64_t seed) {
  cfg.validate();
  const std::vector<int> outliers = outlier_channels(cfg, seed);
  Weights w;
  for (const auto& [name, shape] : weight_shapes(cfg)) {
    Tensor t{shape, {}};
    const int64_t n = t.numel();
    t.data = gaussian_normals(seed ^ fnv1a64(name), n);
    double scale;
    double offset = 0.0;
    if (ends_with(name, "modulation")) {
      scale = 1.0 / std::sqrt(double(cfg.dim));
    } else if (name.find("norm") != std::string::npos) {
      const bool bias = ends_with(name, ".bias");
      scale = bias ? 0.02 : 0.1;
      offset = bias ? 0.0 : 1.0;
    } else if (ends_with(name, ".bias")) {
      scale = 0.02;
    } else {
      scale = 1.0 / std::sqrt(double(n / shape[0]));  // fan_in = numel / out
    }
    for (float& v : t.data) v = float(double(v) * scale + offset);
    const bool writes_residual = ends_with(name, "self_attn.o.weight") || ends_with(name, "ffn.2.weight") ||
                                 name == "patch_embedding.weight";
    if (writes_residual) {
      const int64_t row = n / shape[0];
      for (int c : outliers)
        for (int64_t i = 0; i < row; ++i) t.data[size_t(c * row + i)] *= 8.0f;
    }
    w.emplace(name, std::move(t));
  }
  return w;
}

}  // namespace sixbit::model
