// sixbit/reference/model/weights.hpp: DiT weights by their original Wan2.1 tensor names, and a deterministic
// synthetic generator for them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reference/model/config.hpp"

namespace sixbit::model {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const;
};

// Names exactly as in a Wan2.1 checkpoint (blocks.N.self_attn.q.weight, head.modulation, ...).
using Weights = std::map<std::string, Tensor>;

// Every tensor name a Wan2.1 T2V DiT with this config has, with its shape (PyTorch layout: Linear [out, in],
// Conv3d [out, in, kt, kh, kw], modulation [1, 6, dim]).
std::vector<std::pair<std::string, std::vector<int64_t>>> weight_shapes(const DitConfig& cfg);

// Throws sixbit::Error naming the first missing tensor or wrong shape.
void check_weights(const DitConfig& cfg, const Weights& w);

// splitmix64 (Steele, Lea, Flood 2014; the constants of Vigna's public-domain splitmix64.c).
uint64_t splitmix64(uint64_t& state);
uint64_t fnv1a64(const std::string& s);

// n standard normals (fp32) from the stream started at `state`, by the Box-Muller recipe described below.
std::vector<float> gaussian_normals(uint64_t state, int64_t n);

// Deterministic synthetic weights. Each tensor has its own stream: state = seed ^ fnv1a64(name); values are
// standard normals from Box-Muller on pairs of splitmix64 draws (u1 = (a>>11 + 1) * 2^-53 in (0,1],
// u2 = (b>>11) * 2^-53; z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), r = sqrt(-2 ln u1), computed in double, rounded
// to float), then scaled per tensor kind; see synthetic_weights.cpp. experiments/wan_dit.py mirrors it bit for bit.
Weights synthetic_weights(const DitConfig& cfg, uint64_t seed);

// The hidden channels given outlier-sized weights by synthetic_weights: channel c is one when
// splitmix64(seed ^ 0x6f75746c69657273 ("outliers") + c) % 32 == 0, so about 1 in 32 channels, at least channel 0.
std::vector<int> outlier_channels(const DitConfig& cfg, uint64_t seed);

}  // namespace sixbit::model
