// small_model_dump MODEL.safetensors PROMPT SEED T OUT.safetensors
// Loads a self-describing sixbit model (load_trained_model), encodes PROMPT, runs one fp32 reference forward on
// the sampler's initial noise for SEED at timestep T, and writes latent, context, block.N (residual stream after
// each block) and output as F32 tensors. tests/oracle/train_small_check.py compares them with PyTorch.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "reference/io/tensor_file.hpp"
#include "reference/model/dit.hpp"
#include "reference/model/trained_model.hpp"
#include "reference/sampler/flow_sampler.hpp"

namespace sm = sixbit::model;
namespace io = sixbit::io;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: small_model_dump MODEL PROMPT SEED T OUT\n");
    return 2;
  }
  try {
    const sm::TrainedModel m = sm::load_trained_model(argv[1]);
    const sm::DitConfig& c = m.config;
    const sm::Mat ctx = m.encoder.encode(argv[2]);
    const std::vector<float> latent =
        sixbit::sampler::initial_noise(std::stoull(argv[3]), int64_t(c.in_dim) * c.latent_frames * c.latent_height * c.latent_width);
    std::vector<io::OwnedTensor> out;
    sm::ReferenceOps ops;
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> y = sm::dit_forward(c, m.weights, latent, std::stod(argv[4]), ctx, ops, [&](int b, const sm::Mat& x) {
      const sm::Mat h = ops.to_host(x);
      out.push_back(io::make_f32_tensor("block." + std::to_string(b), {h.rows, h.cols}, h.v.data()));
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::vector<int64_t> shape = {c.out_dim, c.latent_frames, c.latent_height, c.latent_width};
    out.push_back(io::make_f32_tensor("output", shape, y.data()));
    out.push_back(io::make_f32_tensor("latent", {c.in_dim, c.latent_frames, c.latent_height, c.latent_width}, latent.data()));
    out.push_back(io::make_f32_tensor("context", {ctx.rows, ctx.cols}, ctx.v.data()));
    io::write_safetensors(argv[5], out, {}, true);
    std::printf("small_model_dump: %s forward in %.2f s\n", c.name.c_str(), secs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "small_model_dump: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
