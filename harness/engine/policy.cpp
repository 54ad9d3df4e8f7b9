// sixbit/harness/engine/policy.cpp: see policy.hpp.
#include "harness/engine/policy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.hpp"

namespace sixbit::harness {

using model::LinearPrecision;

std::string policy_name(Policy p) {
  switch (p) {
    case Policy::kFull: return "full";
    case Policy::kW8A8: return "w8a8";
    case Policy::kW4A4: return "w4a4";
    case Policy::kW4A8: return "w4a8";
    case Policy::kW4A4orW8A8: return "w4a4-w8a8";
    case Policy::kW4A4orW4A8: return "w4a4-w4a8";
  }
  return "?";
}

Policy policy_from_name(const std::string& name) {
  for (Policy p : {Policy::kFull, Policy::kW8A8, Policy::kW4A4, Policy::kW4A8, Policy::kW4A4orW8A8, Policy::kW4A4orW4A8})
    if (name == policy_name(p)) return p;
  SIXBIT_CHECK(false, "unknown policy '", name, "' (known: w4a4-w8a8, w4a4-w4a8, full, w8a8, w4a4, w4a8)");
  return Policy::kFull;
}

bool policy_is_dynamic(Policy p) { return p == Policy::kW4A4orW8A8 || p == Policy::kW4A4orW4A8; }
bool policy_is_quantized(Policy p) { return p != Policy::kFull; }

LinearPrecision block_precision(Policy p, bool low) {
  switch (p) {
    case Policy::kFull: return LinearPrecision::kFull;
    case Policy::kW8A8: return LinearPrecision::kW8A8;
    case Policy::kW4A4: return LinearPrecision::kW4A4;
    case Policy::kW4A8: return LinearPrecision::kW4A8;
    case Policy::kW4A4orW8A8: return low ? LinearPrecision::kW4A4 : LinearPrecision::kW8A8;
    case Policy::kW4A4orW4A8: return low ? LinearPrecision::kW4A4 : LinearPrecision::kW4A8;
  }
  return LinearPrecision::kFull;
}

int weight_bits(LinearPrecision p) {
  switch (p) {
    case LinearPrecision::kW8A8: return 8;
    case LinearPrecision::kW4A4:
    case LinearPrecision::kW4A8: return 4;
    default: return 16;
  }
}

int activation_bits(LinearPrecision p) {
  switch (p) {
    case LinearPrecision::kW8A8:
    case LinearPrecision::kW4A8: return 8;
    case LinearPrecision::kW4A4: return 4;
    default: return 16;
  }
}

int budget_nvfp4_blocks(int n, double bits) {
  SIXBIT_CHECK(std::isfinite(bits) && bits >= 4.0 && bits <= 8.0, "bit budget ", bits,
               " is outside [4, 8] (all NVFP4 averages 4 bits, all INT8 8)");
  // average = (4k + 8(n - k)) / n <= bits  <=>  k >= n (8 - bits) / 4; the 1e-9 keeps an exact quotient exact.
  const int k = int(std::ceil(double(n) * (8.0 - bits) / 4.0 - 1e-9));
  return std::clamp(k, 0, n);
}

std::vector<bool> allocate_nvfp4(const std::vector<double>& s, const Allocation& a) {
  const int n = int(s.size());
  std::vector<bool> low(size_t(n), false);
  for (double v : s) SIXBIT_CHECK(!std::isnan(v), "predicted sensitivity is NaN");
  if (a.mode == AllocationMode::kThreshold) {
    SIXBIT_CHECK(!std::isnan(a.value) && a.value >= 0, "threshold ", a.value, " must be >= 0");
    for (int b = 0; b < n; ++b) low[size_t(b)] = s[size_t(b)] < a.value;
    return low;
  }
  const int k = budget_nvfp4_blocks(n, a.value);
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return s[size_t(x)] < s[size_t(y)]; });
  for (int i = 0; i < k; ++i) low[size_t(order[size_t(i)])] = true;
  return low;
}

}  // namespace sixbit::harness
