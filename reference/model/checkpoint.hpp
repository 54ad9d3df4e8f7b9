// sixbit/reference/model/checkpoint.hpp: DiT checkpoints in safetensors, with the original Wan2.1 tensor names
// (blocks.N.self_attn.q.weight, ...) or the diffusers names (blocks.N.attn1.to_q.weight, ...), in F32, BF16 or F16.
// A user with the real Wan2.1-T2V-1.3B or 14B checkpoint loads it with the matching preset.
#pragma once

#include <map>
#include <string>

#include "reference/io/tensor_file.hpp"
#include "reference/model/config.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::model {

enum class CheckpointNaming { kWan, kDiffusers };

// The diffusers name of a Wan2.1 tensor name: the ordered substring renames of diffusers'
// scripts/convert_wan_to_diffusers.py (TRANSFORMER_KEYS_RENAME_DICT), T2V subset, incl. its norm2 <-> norm3 swap.
std::string diffusers_name(const std::string& wan_name);

// Loads every tensor the config needs (weight_shapes), by Wan name or, if the file uses them, by diffusers name;
// converts to fp32 exactly (bf16/f16) and checks each shape. Errors name the file and the tensor. Extra tensors
// in the file are ignored.
Weights load_checkpoint(const DitConfig& cfg, const std::string& path);

// The safetensors __metadata__ of a checkpoint (empty if it has none).
std::map<std::string, std::string> checkpoint_metadata(const std::string& path);
// The DitConfig a self-describing checkpoint stores as JSON in its "sixbit.config" metadata (the fields of
// config_from_json_text); an error names the file if the entry is missing or invalid.
DitConfig checkpoint_config(const std::string& path);

// Writes the config's tensors (checked first) in F32 or BF16 (round to nearest even). Refuses to overwrite.
void save_checkpoint(const DitConfig& cfg, const Weights& w, const std::string& path, CheckpointNaming naming, io::DType dtype,
                     bool overwrite = false);

}  // namespace sixbit::model
