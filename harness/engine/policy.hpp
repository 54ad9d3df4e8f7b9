// sixbit/harness/engine/policy.hpp: precision policies and how a per-block NVFP4/INT8 choice becomes linear precisions.
//
// The paper's allocation gives each block, at each step, NVFP4 (stable blocks) or INT8 (volatile blocks). Two
// explicit ways to run that choice (issue 6):
//   w4a4-w8a8  policy (a): NVFP4 -> W4A4, INT8 -> W8A8. A block that can switch keeps BOTH weight copies (NVFP4
//              and INT8) resident; a block that never switches keeps one (harness/engine/memory.hpp).
//   w4a4-w4a8  policy (b): weights are NVFP4 always (one copy); activations switch: NVFP4 -> W4A4, INT8 -> W4A8.
// Static baselines run every block the same way: full (the unquantized model), w8a8, w4a4, w4a8.
#pragma once

#include <string>
#include <vector>

#include "reference/model/ops.hpp"

namespace sixbit::harness {

enum class Policy { kFull, kW8A8, kW4A4, kW4A8, kW4A4orW8A8, kW4A4orW4A8 };

std::string policy_name(Policy p);        // "full", "w8a8", "w4a4", "w4a8", "w4a4-w8a8", "w4a4-w4a8"
Policy policy_from_name(const std::string& name);  // throws sixbit::Error listing the names
bool policy_is_dynamic(Policy p);          // the two switching policies
bool policy_is_quantized(Policy p);        // everything but full

// The linear precision of a block under the policy when the allocation chose NVFP4 (`low` = true) or INT8.
model::LinearPrecision block_precision(Policy p, bool low);

// Nominal element bits of the weights and of the activations of a linear in this precision (full counts as 16:
// the bf16 the deployed model would run in). The allocation's "average bits" is the MAC-weighted mean of the
// activation bits (the operand that switches in both policies; in policy (a) the weights switch with it).
int weight_bits(model::LinearPrecision p);
int activation_bits(model::LinearPrecision p);

// How the predictor's per-block predicted sensitivities become an NVFP4/INT8 choice.
enum class AllocationMode { kThreshold, kBudget };
struct Allocation {
  AllocationMode mode = AllocationMode::kBudget;
  // threshold: NVFP4 iff predicted s < value (so 0 gives all INT8, +inf all NVFP4).
  // budget: the target average activation bits in [4, 8]; the k blocks with the lowest predicted s get NVFP4,
  //         k the fewest that bring the average to <= value (all blocks have the same MACs, so this is exact).
  double value = 6.0;
};

// true = NVFP4 for each block. Ties in budget mode go to the lower block index (deterministic).
std::vector<bool> allocate_nvfp4(const std::vector<double>& predicted_s, const Allocation& a);
// The NVFP4 block count budget mode uses for n blocks: ceil(n * (8 - bits) / 4) clamped to [0, n].
int budget_nvfp4_blocks(int n, double bits);

}  // namespace sixbit::harness
