// Checkpoint I/O with the real Wan2.1 and diffusers tensor names, on tiny checkpoints generated here: EXACT round
// trips (f32 bits; bf16 = the RNE-rounded fp32), and a clear error naming the tensor for missing / mis-shaped /
// non-float tensors and a truncated file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <cmath>

#include "common/check.hpp"
#include "reference/model/checkpoint.hpp"

namespace {
namespace sm = sixbit::model;
namespace io = sixbit::io;
namespace fs = std::filesystem;

struct TempDir {
  fs::path p = fs::temp_directory_path() / ("sixbit_ckpt_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(p); }
  ~TempDir() { fs::remove_all(p); }
  std::string file(const std::string& n) const { return (p / n).string(); }
};

void expect_error_mentioning(const std::function<void()>& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(DitCheckpoint, DiffusersNamesFollowTheConversionScript) {
  EXPECT_EQ(sm::diffusers_name("blocks.3.self_attn.q.weight"), "blocks.3.attn1.to_q.weight");
  EXPECT_EQ(sm::diffusers_name("blocks.3.self_attn.o.bias"), "blocks.3.attn1.to_out.0.bias");
  EXPECT_EQ(sm::diffusers_name("blocks.0.cross_attn.norm_k.weight"), "blocks.0.attn2.norm_k.weight");
  EXPECT_EQ(sm::diffusers_name("blocks.0.norm3.weight"), "blocks.0.norm2.weight");
  EXPECT_EQ(sm::diffusers_name("blocks.0.ffn.0.weight"), "blocks.0.ffn.net.0.proj.weight");
  EXPECT_EQ(sm::diffusers_name("blocks.0.modulation"), "blocks.0.scale_shift_table");
  EXPECT_EQ(sm::diffusers_name("head.modulation"), "scale_shift_table");
  EXPECT_EQ(sm::diffusers_name("head.head.weight"), "proj_out.weight");
  EXPECT_EQ(sm::diffusers_name("time_projection.1.bias"), "condition_embedder.time_proj.bias");
  EXPECT_EQ(sm::diffusers_name("patch_embedding.weight"), "patch_embedding.weight");
}

TEST(DitCheckpoint, WanNamesF32RoundTripExactly) {
  TempDir d;
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 5);
  sm::save_checkpoint(cfg, w, d.file("wan.safetensors"), sm::CheckpointNaming::kWan, io::DType::kF32);
  const auto f = io::SafetensorsFile::open(d.file("wan.safetensors"));
  EXPECT_TRUE(f.contains("blocks.1.self_attn.q.weight"));
  const sm::Weights back = sm::load_checkpoint(cfg, d.file("wan.safetensors"));
  ASSERT_EQ(back.size(), w.size());
  for (const auto& [name, t] : w) {
    ASSERT_EQ(back.at(name).shape, t.shape) << name;
    EXPECT_EQ(0, std::memcmp(back.at(name).data.data(), t.data.data(), t.data.size() * 4)) << name;
  }
  expect_error_mentioning([&] { sm::save_checkpoint(cfg, w, d.file("wan.safetensors"), sm::CheckpointNaming::kWan, io::DType::kF32); },
                          "refusing to overwrite");
}

TEST(DitCheckpoint, DiffusersNamesBf16RoundTripToRoundedValues) {
  TempDir d;
  const sm::DitConfig cfg = sm::preset("tiny");
  const sm::Weights w = sm::synthetic_weights(cfg, 6);
  sm::save_checkpoint(cfg, w, d.file("dif.safetensors"), sm::CheckpointNaming::kDiffusers, io::DType::kBF16);
  EXPECT_TRUE(io::SafetensorsFile::open(d.file("dif.safetensors")).contains("blocks.0.attn1.to_q.weight"));
  const sm::Weights back = sm::load_checkpoint(cfg, d.file("dif.safetensors"));
  size_t changed = 0;
  for (const auto& [name, t] : w)
    for (size_t i = 0; i < t.data.size(); ++i) {
      const float o = t.data[i], b = back.at(name).data[i];
      uint32_t ub;
      std::memcpy(&ub, &b, 4);
      ASSERT_EQ(ub & 0xFFFFu, 0u) << name << ": a bf16 value widens with zero low bits";
      ASSERT_LE(std::fabs(o - b), std::fabs(o) * 0.00390625f) << name;  // RNE to 8 significant bits: <= 2^-8 relative
      changed += (o != b);
    }
  EXPECT_GT(changed, 0u) << "random fp32 weights cannot all be bf16 values";
}

TEST(DitCheckpoint, MissingMisShapedAndTruncatedGiveClearErrors) {
  TempDir d;
  const sm::DitConfig cfg = sm::preset("tiny");
  sm::Weights w = sm::synthetic_weights(cfg, 7);
  std::vector<io::OwnedTensor> tensors;
  for (const auto& [name, shape] : sm::weight_shapes(cfg))
    if (name != "blocks.1.ffn.2.weight") tensors.push_back(io::make_f32_tensor(name, shape, w.at(name).data.data()));
  io::write_safetensors(d.file("missing.safetensors"), tensors, {}, false);
  expect_error_mentioning([&] { sm::load_checkpoint(cfg, d.file("missing.safetensors")); }, "missing tensor 'blocks.1.ffn.2.weight'");

  tensors.push_back(io::make_f32_tensor("blocks.1.ffn.2.weight", {1, static_cast<int64_t>(w.at("blocks.1.ffn.2.weight").data.size())},
                                        w.at("blocks.1.ffn.2.weight").data.data()));
  io::write_safetensors(d.file("shape.safetensors"), tensors, {}, false);
  expect_error_mentioning([&] { sm::load_checkpoint(cfg, d.file("shape.safetensors")); }, "'blocks.1.ffn.2.weight' has shape [1, ");

  const auto size = fs::file_size(d.file("shape.safetensors"));
  fs::resize_file(d.file("shape.safetensors"), size - 100);
  expect_error_mentioning([&] { sm::load_checkpoint(cfg, d.file("shape.safetensors")); }, "shape.safetensors");
  // The wrong preset for a file: the first tensor that disagrees is named with both shapes.
  expect_error_mentioning([&] { sm::load_checkpoint(sm::preset("small"), d.file("missing.safetensors")); }, "but this config needs");
}

}  // namespace
