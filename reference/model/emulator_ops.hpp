// sixbit/reference/model/emulator_ops.hpp: the emulator backend of the DiT driver.
//
// Every linear inside the transformer blocks runs in the precision a plan assigns to it (full precision, W8A8,
// W4A4 or W4A8) through the bit-exact emulation core: weights are quantized once (cached per weight tensor and
// format), activations on the fly. Everything else (attention, norms, RoPE, modulation, the embeddings and the
// head) is the fp32 reference, so a plan of all-full precision gives the reference's bits exactly.
// The plan is data: the harness fills it per block and per step (set_plan between steps).
#pragma once

#include <map>
#include <utility>

#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "reference/model/ops.hpp"

namespace sixbit::model {

class EmulatorOps : public ReferenceOps {
 public:
  explicit EmulatorOps(PrecisionPlan plan = {}, quant::Nvfp4Recipe recipe = quant::Nvfp4Recipe::kTe) : plan_(std::move(plan)), recipe_(recipe) {}
  void set_plan(const PrecisionPlan& plan) override { plan_ = plan; }
  const PrecisionPlan& plan() const { return plan_; }
  Mat linear(const Mat& x, const float* w, int64_t out, const float* bias, const LayerId& id) override;
  // How many linear calls ran in each precision since construction (for reports and tests).
  const std::map<LinearPrecision, int64_t>& calls() const { return calls_; }

 private:
  const quant::Nvfp4Tensor& nvfp4_weight(const float* w, int64_t out, int64_t in);
  const quant::Int8Tensor& int8_weight(const float* w, int64_t out, int64_t in);
  PrecisionPlan plan_;
  quant::Nvfp4Recipe recipe_;
  // Weights are immutable for the life of a model, so the quantized copy is keyed by the weight's address.
  std::map<const float*, quant::Nvfp4Tensor> nvfp4_cache_;
  std::map<const float*, quant::Int8Tensor> int8_cache_;
  std::map<LinearPrecision, int64_t> calls_;
};

}  // namespace sixbit::model
