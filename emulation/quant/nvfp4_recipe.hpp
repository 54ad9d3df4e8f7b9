// sixbit/emulation/quant/nvfp4_recipe.hpp: the recipe enum, shared by host and device code.
#pragma once

#include <cstdint>

namespace sixbit::quant {

enum class Nvfp4Recipe : uint8_t {
  kTe,        // TransformerEngine (default)
  kModelopt,  // NVIDIA ModelOpt NVFP4QTensor
  kTorchao,   // torchao prototype nvfp4_quantize
  kCutlass,   // CUTLASS host reference (gett.hpp)
};

}  // namespace sixbit::quant
