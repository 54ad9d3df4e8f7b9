// sixbit/harness/engine/accounting.cpp: see accounting.hpp.
#include "harness/engine/accounting.hpp"

#include "common/check.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::harness {

using model::LinearPrecision;

double FlopModel::forward() const { return prepare + double(num_layers) * block() + head; }

FlopModel flop_model(const model::DitConfig& c) {
  const double T = double(c.tokens()), D = c.dim, F = c.ffn_dim, L = c.text_len;
  FlopModel m;
  m.num_layers = c.num_layers;
  m.prepare = 2.0 * (T * D * double(c.in_dim * c.patch_volume())  // patch embedding
                     + double(c.freq_dim) * D + D * D             // time MLP
                     + D * 6.0 * D                                // time projection
                     + L * double(c.text_dim) * D + L * D * D);   // text MLP
  m.head = 2.0 * T * D * double(c.out_dim * c.patch_volume());
  m.block_linear = 2.0 * (4.0 * T * D * D + 2.0 * T * D * D + 2.0 * L * D * D + 2.0 * T * D * F);
  m.block_attention = 2.0 * (2.0 * T * T * D + 2.0 * T * L * D);
  m.stream_elements = T * D;
  return m;
}

double linear_time_per_flop(LinearPrecision p) {
  switch (p) {
    case LinearPrecision::kW4A4: return 0.25;
    case LinearPrecision::kW8A8:
    case LinearPrecision::kW4A8: return 0.5;
    default: return 1.0;
  }
}

int Residency::switchable() const {
  int n = 0;
  for (size_t b = 0; b < nvfp4.size(); ++b) n += nvfp4[b] && int8[b];
  return n;
}

Residency plan_residency(Policy p, const Predictor* pred, const Allocation& a, int n) {
  Residency r{std::vector<bool>(size_t(n), false), std::vector<bool>(size_t(n), false)};
  for (int b = 0; b < n; ++b) {
    bool four = false, eight = false;
    switch (p) {
      case Policy::kFull: break;
      case Policy::kW8A8: eight = true; break;
      case Policy::kW4A4:
      case Policy::kW4A8:
      case Policy::kW4A4orW4A8: four = true; break;
      case Policy::kW4A4orW8A8:
        if (a.mode == AllocationMode::kBudget) {
          const int k = budget_nvfp4_blocks(n, a.value);
          four = k > 0;
          eight = k < n;
        } else {
          SIXBIT_CHECK(pred != nullptr, "policy w4a4-w8a8 in threshold mode needs a predictor");
          four = pred->predict_min(b) < a.value;
          eight = pred->predict_max(b) >= a.value;
        }
        break;
    }
    r.nvfp4[size_t(b)] = four;
    r.int8[size_t(b)] = eight;
  }
  return r;
}

int64_t nvfp4_weight_bytes(int64_t out, int64_t in) { return out * in / 2 + out * in / 16 + 4; }
int64_t int8_weight_bytes(int64_t out, int64_t in) { return out * in + 4 * out; }

MemoryReport account_memory(const model::DitConfig& c, Policy policy, const Residency& r, int64_t extra_params,
                            const std::string& extra_name) {
  SIXBIT_CHECK(int(r.nvfp4.size()) == c.num_layers || policy == Policy::kFull, "residency has ", r.nvfp4.size(),
               " blocks, the model ", c.num_layers);
  int64_t nv_codes = 0, nv_scales = 0, nv_global = 0, i8_codes = 0, i8_scales = 0, bf16_linear = 0, biases = 0,
          block_other = 0, nonblock = 0, all_params = 0;
  for (const auto& [name, shape] : model::weight_shapes(c)) {
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    all_params += numel;
    const bool in_block = name.rfind("blocks.", 0) == 0;
    const bool is_linear_weight = in_block && shape.size() == 2 && name.size() > 7 &&
                                  name.compare(name.size() - 7, 7, ".weight") == 0;
    if (!in_block) {
      nonblock += numel;
      continue;
    }
    if (!is_linear_weight) {
      (name.compare(name.size() - 5, 5, ".bias") == 0 && name.find("norm") == std::string::npos ? biases : block_other) += numel;
      continue;
    }
    const int b = std::stoi(name.substr(7));
    const int64_t out = shape[0], in = shape[1];
    const bool four = policy != Policy::kFull && r.nvfp4[size_t(b)];
    const bool eight = policy != Policy::kFull && r.int8[size_t(b)];
    if (four) {
      nv_codes += out * in / 2;
      nv_scales += out * in / 16;
      nv_global += 4;
    }
    if (eight) {
      i8_codes += out * in;
      i8_scales += 4 * out;
    }
    if (!four && !eight) bf16_linear += 2 * out * in;
  }
  MemoryReport m;
  auto line = [&](const std::string& what, int64_t bytes) { m.lines.push_back({what, bytes}); m.total += bytes; };
  line("block linear weights, NVFP4 E2M1 codes", nv_codes);
  line("block linear weights, NVFP4 UE4M3 block scales (1 per 16)", nv_scales);
  line("block linear weights, NVFP4 fp32 global decode scales", nv_global);
  line("block linear weights, INT8 codes", i8_codes);
  line("block linear weights, INT8 fp32 per-channel scales", i8_scales);
  line("block linear weights, bf16 (unquantized)", bf16_linear);
  line("block linear biases, bf16", 2 * biases);
  line("block norm weights, norm3 bias, modulation, bf16", 2 * block_other);
  line("non-block weights (patch, text, time, head), bf16", 2 * nonblock);
  if (extra_params > 0) line((extra_name.empty() ? std::string("extra parameters") : extra_name) + ", bf16", 2 * extra_params);
  m.bf16_total = 2 * (all_params + extra_params);
  return m;
}

}  // namespace sixbit::harness
