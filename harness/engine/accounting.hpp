// sixbit/harness/engine/accounting.hpp: what a run costs. FLOPs of the DiT forward by part, a throughput cost model
// for the simulated speed-up, and every resident byte of the weights under each precision policy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/engine/policy.hpp"
#include "harness/predictor/predictor.hpp"
#include "reference/model/config.hpp"

namespace sixbit::harness {

// FLOPs (2 per multiply-add) of one forward's parts for a config. Element-wise ops (norms, RoPE, softmax,
// modulation) are not counted: they are a few FLOPs per element against dim-long dot products.
struct FlopModel {
  double prepare = 0;          // patch embedding, time MLP, time projection, text MLP
  double head = 0;             // head linear
  double block_linear = 0;     // one block's 10 linears (self q k v o over tokens; cross q o over tokens, k v over
                               // the text_len context tokens; ffn.0, ffn.2)
  double block_attention = 0;  // q k^T and p v of self- (tokens x tokens) and cross-attention (tokens x text_len)
  double stream_elements = 0;  // tokens * dim: what one element-wise pass over the residual stream costs
  double block() const { return block_linear + block_attention; }
  double forward() const;      // prepare + every block + head
  int num_layers = 0;
};
FlopModel flop_model(const model::DitConfig& cfg);

// Simulated time per FLOP of a block linear, relative to bf16 = 1: the dense tensor-core throughput ratio
// FP4 : FP8/INT8 : BF16 = 4 : 2 : 1 of NVIDIA Blackwell (B200 datasheet: 9 / 4.5 / 2.25 PFLOPS dense), where the
// paper's RTX 5090 runs NVFP4. W4A8 runs at the 8-bit rate (one 8-bit operand). Attention and the non-block parts
// stay bf16 (cost 1). A cost model, not a measurement: sixbit's CPU emulator is not faster when it quantizes.
double linear_time_per_flop(model::LinearPrecision p);

// Which quantized weight copies each block holds (policy a keeps both only where a block can switch).
struct Residency {
  std::vector<bool> nvfp4, int8;  // per block
  int switchable() const;         // blocks holding both
};
// Static policies: one copy (none for full: bf16). Policy (b): NVFP4 only. Policy (a), threshold mode: NVFP4 iff the
// block's predicted s over its calibrated d range can fall below the threshold, INT8 iff it can reach it; budget
// mode: both unless the budget forces all blocks one way. A block whose choice at run time has no resident copy
// runs in the copy it has (the engine counts these fallbacks).
Residency plan_residency(Policy policy, const Predictor* predictor, const Allocation& allocation, int num_layers);

struct MemoryLine {
  std::string what;
  int64_t bytes = 0;
};
struct MemoryReport {
  std::vector<MemoryLine> lines;  // every resident category, including zero-byte ones that apply
  int64_t total = 0;
  int64_t bf16_total = 0;         // the same model with every parameter in bf16
  double reduction() const { return total > 0 ? double(bf16_total) / double(total) : 0.0; }
};
// Bytes per block linear [out, in] (in % 16 == 0): NVFP4 = out*in/2 codes + out*in/16 UE4M3 scales + 4 (the fp32
// global decode scale the GEMM epilogue multiplies by); INT8 = out*in codes + 4*out fp32 per-channel scales.
int64_t nvfp4_weight_bytes(int64_t out, int64_t in);
int64_t int8_weight_bytes(int64_t out, int64_t in);
// Everything else (biases, norm weights, modulations, the embeddings, time MLP and head) is held in bf16 (2 bytes)
// under every policy, as a bf16 deployment holds them; `extra_params` (e.g. a prompt encoder) likewise.
MemoryReport account_memory(const model::DitConfig& cfg, Policy policy, const Residency& residency,
                            int64_t extra_params = 0, const std::string& extra_name = "");

}  // namespace sixbit::harness
