// sixbit/harness/backends.hpp: the registry of DiT backends the harness can drive (`--backend NAME`).
//
// Every backend is a model::DitOps: the driver (reference/model/dit.hpp) and the harness (predictor, Temporal
// Delta Cache, op-by-op compare) only ever call ops, so a backend plugs in here and nowhere else.
//   reference  fp32 ReferenceOps; full precision only (a quantized plan is refused by DitOps::set_plan)
//   emulator   EmulatorOps: block linears in full / W8A8 / W4A4 / W4A8 per plan, bit-exact emulation core
//   cuda       sixbit::cuda::CudaDitOps (cuda/dit/dit_ops.hpp) in its bf16 fast mode, when built with CUDA
//   cuda-verify  the same backend in its verify mode: fp32, bit-identical to emulator op for op
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "emulation/quant/nvfp4_recipe.hpp"
#include "reference/model/ops.hpp"

namespace sixbit::harness {

struct BackendOptions {
  quant::Nvfp4Recipe recipe = quant::Nvfp4Recipe::kTe;  // NVFP4 recipe of the quantized linears
  int device = 0;                                       // GPU ordinal (cuda)
};

// Names in the order `--help` lists them.
std::vector<std::string> backend_names();
// Whether `name` runs quantized plans (reference does not).
bool backend_runs_quantized(const std::string& name);
// Throws sixbit::Error for an unknown name (listing the known ones) and for "cuda" in a build without CUDA
// ("this sixbit was built without CUDA").
std::unique_ptr<model::DitOps> make_backend(const std::string& name, const BackendOptions& options = {});

}  // namespace sixbit::harness
