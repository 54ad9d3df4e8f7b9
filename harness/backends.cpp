// sixbit/harness/backends.cpp: see backends.hpp.
#include "harness/backends.hpp"

#include "common/check.hpp"
#include "reference/model/emulator_ops.hpp"

#if defined(SIXBIT_HAVE_CUDA) && __has_include("cuda/dit/dit_ops.hpp")
#include "cuda/dit/dit_ops.hpp"
#define SIXBIT_HARNESS_CUDA_OPS 1
#endif

namespace sixbit::harness {

std::vector<std::string> backend_names() { return {"reference", "emulator", "cuda", "cuda-verify"}; }

bool backend_runs_quantized(const std::string& name) { return name != "reference"; }

std::unique_ptr<model::DitOps> make_backend(const std::string& name, const BackendOptions& options) {
  if (name == "reference") return std::make_unique<model::ReferenceOps>();
  if (name == "emulator") return std::make_unique<model::EmulatorOps>(model::PrecisionPlan{}, options.recipe);
  if (name == "cuda" || name == "cuda-verify") {
#if defined(SIXBIT_HARNESS_CUDA_OPS)
    // cuda: bf16 fast path (cuda/dit/dit_ops.hpp kFast); cuda-verify: fp32, the emulator's bits op for op (kVerify).
    cuda::CudaDitOptions o;
    o.mode = name == "cuda" ? cuda::DitMode::kFast : cuda::DitMode::kVerify;
    o.recipe = options.recipe, o.device = options.device;
    return cuda::make_cuda_dit_ops(o);
#elif defined(SIXBIT_HAVE_CUDA)
    SIXBIT_CHECK(false, "backend 'cuda': this sixbit was built with CUDA, but the CUDA DiT backend (cuda/dit_ops.hpp) "
                 "is not written yet");
#else
    SIXBIT_CHECK(false, "backend 'cuda': this sixbit was built without CUDA (configure on a machine with nvcc, "
                 "or use --backend emulator)");
#endif
  }
  SIXBIT_CHECK(false, "unknown backend '", name, "' (known: reference, emulator, cuda, cuda-verify)");
  return nullptr;
}

}  // namespace sixbit::harness
