// sixbit/harness/compare/comparing_ops.hpp: run two backends op by op on the same inputs (`sixbit compare`).
//
// ComparingOps is a DitOps that runs every op on backend A, gives backend B the SAME inputs (A's input tensors
// brought to the host with A.to_host and into B with B.from_host; in-place ops get a copy of the input taken before
// A ran), and compares B's result with A's element by element: bit mismatches, max |a - b|, relative L2
// ||a - b|| / ||a||, and the first differing element. The driver carries on with A's result, so each op's
// comparison isolates that op: differences never accumulate across ops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reference/model/ops.hpp"

namespace sixbit::harness {

struct OpComparison {
  std::string op;     // DitOps method: linear, attention, layer_norm, ...
  std::string layer;  // the LayerId name for linears ("blocks.3.ffn.0"), else ""
  int step = -1, block = -1;  // where it ran (block -1: embeddings, num_layers: head)
  bool cond = true;
  int64_t rows = 0, cols = 0;
  int64_t mismatches = 0;   // elements whose fp32 (fp64 for diff_norms) bit patterns differ
  double max_abs = 0;       // over pairs where both are finite
  double rel_l2 = 0;        // ||a - b|| / ||a|| over finite pairs (0 when a is all zero and b equals it)
  int64_t non_finite = 0;   // pairs where exactly one side is not finite, or both but different bits
  int64_t first_index = -1; // first mismatching element (row-major), -1 if none
  double first_a = 0, first_b = 0;
};

class ComparingOps : public model::DitOps {
 public:
  ComparingOps(model::DitOps& a, model::DitOps& b) : a_(a), b_(b) {}
  // Labels the ops that follow (the engine's site hook).
  void set_site(int step, bool cond, int block) { step_ = step, cond_ = cond, block_ = block; }
  const std::vector<OpComparison>& comparisons() const { return records_; }

  void set_plan(const model::PrecisionPlan& plan) override;
  model::Mat from_host(model::Mat host) override { return a_.from_host(std::move(host)); }
  model::Mat to_host(const model::Mat& x) override { return a_.to_host(x); }
  model::Mat clone(const model::Mat& x) override { return a_.clone(x); }
  model::Mat linear(const model::Mat& x, const float* w, int64_t out, const float* bias, const model::LayerId& id) override;
  model::Mat attention(const model::Mat& q, const model::Mat& k, const model::Mat& v, int heads) override;
  void layer_norm(model::Mat& x, const float* weight, const float* bias, float eps) override;
  void rms_norm(model::Mat& x, const float* weight, float eps) override;
  void rope(model::Mat& x, int heads, int grid_f, int grid_h, int grid_w) override;
  void gelu_tanh(model::Mat& x) override;
  void silu(model::Mat& x) override;
  model::Mat add_modulation(const float* learned, const model::Mat& e, int64_t n) override;
  void modulate(model::Mat& x, const model::Mat& mod, int shift_chunk, int scale_chunk) override;
  void gated_add(model::Mat& x, const model::Mat& y, const model::Mat* mod, int gate_chunk) override;
  model::Mat sub(const model::Mat& a, const model::Mat& b) override;
  model::DiffNorms diff_norms(const model::Mat& a, const model::Mat& b) override;

 private:
  model::Mat to_b(const model::Mat& a_side);  // A's tensor -> host -> B
  void record(const char* op, const std::string& layer, const model::Mat& a_result, const model::Mat& b_result);
  model::DitOps& a_;
  model::DitOps& b_;
  int step_ = -1, block_ = -1;
  bool cond_ = true;
  std::vector<OpComparison> records_;
};

// Compares two host arrays the way ComparingOps does (exposed for tests).
OpComparison compare_values(const float* a, const float* b, int64_t n);

}  // namespace sixbit::harness
