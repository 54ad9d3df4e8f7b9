#include "reference/model/checkpoint.hpp"

#include <cstring>

#include "common/check.hpp"

namespace sixbit::model {

namespace {
// In the order diffusers applies them (each is a plain substring replace over the whole key).
constexpr std::pair<const char*, const char*> kDiffusersRenames[] = {
    {"time_embedding.0", "condition_embedder.time_embedder.linear_1"},
    {"time_embedding.2", "condition_embedder.time_embedder.linear_2"},
    {"text_embedding.0", "condition_embedder.text_embedder.linear_1"},
    {"text_embedding.2", "condition_embedder.text_embedder.linear_2"},
    {"time_projection.1", "condition_embedder.time_proj"},
    {"head.modulation", "scale_shift_table"},
    {"head.head", "proj_out"},
    {"modulation", "scale_shift_table"},
    {"ffn.0", "ffn.net.0.proj"},
    {"ffn.2", "ffn.net.2"},
    {"norm2", "norm__placeholder"},  // Wan names its norms 1, 3, 2 in call order; diffusers 1, 2, 3
    {"norm3", "norm2"},
    {"norm__placeholder", "norm3"},
    {"self_attn.q", "attn1.to_q"},
    {"self_attn.k", "attn1.to_k"},
    {"self_attn.v", "attn1.to_v"},
    {"self_attn.o", "attn1.to_out.0"},
    {"self_attn.norm_q", "attn1.norm_q"},
    {"self_attn.norm_k", "attn1.norm_k"},
    {"cross_attn.q", "attn2.to_q"},
    {"cross_attn.k", "attn2.to_k"},
    {"cross_attn.v", "attn2.to_v"},
    {"cross_attn.o", "attn2.to_out.0"},
    {"cross_attn.norm_q", "attn2.norm_q"},
    {"cross_attn.norm_k", "attn2.norm_k"},
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) s.replace(pos, from.size(), to);
}

uint16_t bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
}  // namespace

std::string diffusers_name(const std::string& wan_name) {
  std::string s = wan_name;
  for (const auto& [from, to] : kDiffusersRenames) replace_all(s, from, to);
  return s;
}

Weights load_checkpoint(const DitConfig& cfg, const std::string& path) {
  const io::SafetensorsFile f = io::SafetensorsFile::open(path);
  const auto shapes = weight_shapes(cfg);
  SIXBIT_CHECK(!shapes.empty(), "config has no tensors");
  // Naming is decided on the first tensor whose two names differ (patch_embedding.* are the same in both).
  bool diffusers = false;
  for (const auto& [name, shape] : shapes)
    if (diffusers_name(name) != name) {
      diffusers = !f.contains(name) && f.contains(diffusers_name(name));
      break;
    }
  Weights w;
  for (const auto& [name, shape] : shapes) {
    const std::string stored = diffusers ? diffusers_name(name) : name;
    SIXBIT_CHECK(f.contains(stored), path, ": missing tensor '", stored, "'", diffusers ? " (diffusers naming)" : "",
                 " needed by this config (wrong preset or a partial checkpoint?)");
    const io::TensorView& v = f.get(stored);
    SIXBIT_CHECK(io::dtype_is_float(v.dtype), path, ": tensor '", stored, "' has dtype ", io::dtype_name(v.dtype), ", expected a float type");
    SIXBIT_CHECK(v.shape == shape, path, ": tensor '", stored, "' has shape ", io::shape_string(v.shape), " but this config needs ",
                 io::shape_string(shape));
    w[name] = Tensor{shape, io::to_f32(v)};
  }
  return w;
}

std::map<std::string, std::string> checkpoint_metadata(const std::string& path) {
  return io::SafetensorsFile::open(path).metadata();
}

DitConfig checkpoint_config(const std::string& path) {
  const auto meta = checkpoint_metadata(path);
  const auto it = meta.find("sixbit.config");
  SIXBIT_CHECK(it != meta.end(), path, ": no \"sixbit.config\" metadata (not a self-describing sixbit checkpoint; "
               "pass the config explicitly)");
  try {
    return config_from_json_text(it->second);
  } catch (const Error& e) {
    SIXBIT_CHECK(false, path, ": metadata \"sixbit.config\": ", e.what());
  }
  return {};
}

void save_checkpoint(const DitConfig& cfg, const Weights& w, const std::string& path, CheckpointNaming naming, io::DType dtype, bool overwrite) {
  check_weights(cfg, w);
  SIXBIT_CHECK(dtype == io::DType::kF32 || dtype == io::DType::kBF16, "checkpoints are written in F32 or BF16");
  std::vector<io::OwnedTensor> out;
  for (const auto& [name, shape] : weight_shapes(cfg)) {
    const Tensor& t = w.at(name);
    const std::string stored = naming == CheckpointNaming::kDiffusers ? diffusers_name(name) : name;
    if (dtype == io::DType::kF32) {
      out.push_back(io::make_f32_tensor(stored, shape, t.data.data()));
    } else {
      io::OwnedTensor o{stored, io::DType::kBF16, shape, std::vector<uint8_t>(t.data.size() * 2)};
      for (size_t i = 0; i < t.data.size(); ++i) {
        const uint16_t h = bf16_rne(t.data[i]);
        std::memcpy(&o.bytes[2 * i], &h, 2);
      }
      out.push_back(std::move(o));
    }
  }
  io::write_safetensors(path, out, {{"format", "pt"}, {"sixbit.model", "wan2.1-t2v"}}, overwrite);
}

}  // namespace sixbit::model
