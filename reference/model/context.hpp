// sixbit/reference/model/context.hpp: text-context embeddings (e.g. precomputed umT5 output) from a file.
#pragma once

#include <string>

#include "reference/model/config.hpp"
#include "reference/model/ops.hpp"

namespace sixbit::model {

// Reads the context [n, text_dim] the DiT attends to (dit_forward zero-pads it to text_len, as Wan does) from a
// .npy file or a safetensors file (told apart by content): for safetensors the tensor named "context", or the
// file's only tensor. Float dtypes only (F32/F16/BF16 widened exactly, F64 rounded once to fp32). The shape may
// be [n, text_dim] or [1, n, text_dim] (one prompt of a batch). Refused with a sixbit::Error naming the file and
// what is wrong: not a float tensor, another rank, n outside 1..text_len, text_dim different from the config's, a
// NaN or infinite value (its [row, column] given), several tensors and none named "context", or an unreadable file.
Mat load_context(const std::string& path, const DitConfig& cfg);

}  // namespace sixbit::model
