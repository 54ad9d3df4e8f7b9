// sixbit/harness/backends.cpp: see backends.hpp.
#include "harness/backends.hpp"

#include "common/check.hpp"
#include "reference/model/emulator_ops.hpp"

#if defined(SIXBIT_HAVE_CUDA) && __has_include("cuda/dit_ops.hpp")
#include "cuda/dit_ops.hpp"
#define SIXBIT_HARNESS_CUDA_OPS 1
#endif

namespace sixbit::harness {

std::vector<std::string> backend_names() { return {"reference", "emulator", "cuda"}; }

bool backend_runs_quantized(const std::string& name) { return name != "reference"; }

std::unique_ptr<model::DitOps> make_backend(const std::string& name, const BackendOptions& options) {
  if (name == "reference") return std::make_unique<model::ReferenceOps>();
  if (name == "emulator") return std::make_unique<model::EmulatorOps>(model::PrecisionPlan{}, options.recipe);
  if (name == "cuda") {
#if defined(SIXBIT_HARNESS_CUDA_OPS)
    return std::make_unique<sixbit::cuda::CudaDitOps>(options.device, options.recipe);
#elif defined(SIXBIT_HAVE_CUDA)
    SIXBIT_CHECK(false, "backend 'cuda': this sixbit was built with CUDA, but the CUDA DiT backend (cuda/dit_ops.hpp) "
                 "is not written yet");
#else
    SIXBIT_CHECK(false, "backend 'cuda': this sixbit was built without CUDA (configure on a machine with nvcc, "
                 "or use --backend emulator)");
#endif
  }
  SIXBIT_CHECK(false, "unknown backend '", name, "' (known: reference, emulator, cuda)");
  return nullptr;
}

}  // namespace sixbit::harness
