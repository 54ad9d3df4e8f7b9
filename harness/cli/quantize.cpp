// `sixbit quantize IN OUT`: every float tensor of IN as NVFP4 or INT8, written to safetensors with metadata.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/check.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/cli/args.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::cli {

const char* const kQuantizeUsage =
    "usage: sixbit quantize IN OUT [options]\n"
    "  IN   safetensors or .npy file of float tensors (F32, F16, BF16, F64); each tensor is treated as\n"
    "       [rows, last_dim] (leading dimensions flattened)\n"
    "  OUT  safetensors file to create (refused if it exists, unless --overwrite)\n"
    "options:\n"
    "  --format nvfp4|int8         (default nvfp4)\n"
    "  --recipe te|modelopt|torchao|cutlass   NVFP4 recipe (default te)\n"
    "  --layout row|128x4          NVFP4 scale layout (default row)\n"
    "  --granularity row|tensor    INT8 scales (default row)\n"
    "  --tensors a,b,c             only these tensors (default all float tensors)\n"
    "  --pad                       zero-pad a last dimension that is not a multiple of 16 (NVFP4)\n"
    "  --overwrite                 replace OUT if it exists\n"
    "output, per tensor T: T.codes (U8 packed E2M1, element 2i in the low nibble | I8), T.scales (U8 UE4M3 | F32),\n"
    "T.global_scale (F32 [encode, decode], NVFP4 only); __metadata__[T] is JSON: format, recipe, layout,\n"
    "granularity, shape, padded_cols.\n";

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

template <typename T>
io::OwnedTensor raw_tensor(std::string name, io::DType dtype, std::vector<int64_t> shape, const std::vector<T>& v) {
  io::OwnedTensor t{std::move(name), dtype, std::move(shape), {}};
  t.bytes.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"format", "recipe", "layout", "granularity", "tensors"}, {"pad", "overwrite"});
  if (a.positional.size() != 2) throw UsageError("expected IN and OUT");
  const std::string in = a.positional[0], out = a.positional[1];
  const std::string format = a.get("format", "nvfp4");
  if (format != "nvfp4" && format != "int8") throw UsageError("--format must be nvfp4 or int8, got '" + format + "'");
  const quant::Nvfp4Recipe recipe = quant::nvfp4_recipe_from_name(a.get("recipe", "te"));
  const quant::ScaleLayout layout = quant::scale_layout_from_name(a.get("layout", "row"));
  const std::string gran = a.get("granularity", "row");
  if (gran != "row" && gran != "tensor") throw UsageError("--granularity must be row or tensor");
  // Refuse early, before any work, so a long quantization never ends in a refusal.
  SIXBIT_CHECK(a.has("overwrite") || !std::ifstream(out).good(), out, ": already exists; refusing to overwrite (pass --overwrite to replace it)");

  std::vector<io::FloatTensor> tensors = io::load_float_tensors(in, true);
  if (a.has("tensors")) {
    const auto wanted = split_commas(a.get("tensors", ""));
    std::vector<io::FloatTensor> picked;
    for (const auto& w : wanted) {
      bool found = false;
      for (auto& t : tensors)
        if (t.name == w) {
          picked.push_back(std::move(t));
          found = true;
        }
      SIXBIT_CHECK(found, in, ": no float tensor named '", w, "'");
    }
    tensors = std::move(picked);
  }
  SIXBIT_CHECK(!tensors.empty(), in, ": no float tensors to quantize");

  std::vector<io::OwnedTensor> outputs;
  std::map<std::string, std::string> metadata{{"sixbit.version", "0.1.0"}};
  for (auto& t : tensors) {
    SIXBIT_CHECK(!t.shape.empty(), in, ": tensor '", t.name, "' is a scalar; nothing to quantize per row");
    SIXBIT_CHECK(!t.values.empty(), in, ": tensor '", t.name, "' has no elements (shape with a 0); nothing to quantize");
    const int64_t cols = t.shape.back();
    const int64_t rows = cols ? static_cast<int64_t>(t.values.size()) / cols : 0;
    int64_t nan = 0;
    for (float v : t.values) nan += std::isnan(v);
    SIXBIT_CHECK(nan == 0, in, ": tensor '", t.name, "' has ", nan, " NaN value(s) of ", t.values.size(), (nan == static_cast<int64_t>(t.values.size()) ? " (all NaN)" : ""),
                 "; refusing to quantize");
    nlohmann::json meta = {{"format", format}, {"shape", t.shape}};
    if (format == "nvfp4") {
      int64_t padded = cols;
      if (cols % 16 != 0) {
        SIXBIT_CHECK(a.has("pad"), in, ": tensor '", t.name, "' has last dimension ", cols, ", not a multiple of 16 (NVFP4 block); pass --pad to zero-pad it");
        padded = (cols + 15) / 16 * 16;
        std::vector<float> p(static_cast<size_t>(rows * padded), 0.0f);
        for (int64_t r = 0; r < rows; ++r) std::memcpy(&p[static_cast<size_t>(r * padded)], &t.values[static_cast<size_t>(r * cols)], static_cast<size_t>(cols) * 4);
        t.values = std::move(p);
      }
      const quant::Nvfp4Tensor q = quant::nvfp4_quantize(t.values.data(), rows, padded, recipe);
      const int64_t scale_cols = padded / 16;
      std::vector<uint8_t> scales = layout == quant::ScaleLayout::kRowMajor ? q.scales : quant::scales_to_blocked_128x4(q.scales.data(), rows, scale_cols);
      const std::vector<int64_t> scale_shape =
          layout == quant::ScaleLayout::kRowMajor ? std::vector<int64_t>{rows, scale_cols} : std::vector<int64_t>{static_cast<int64_t>(scales.size())};
      outputs.push_back(raw_tensor(t.name + ".codes", io::DType::kU8, {rows, padded / 2}, q.packed));
      outputs.push_back(raw_tensor(t.name + ".scales", io::DType::kU8, scale_shape, scales));
      outputs.push_back(raw_tensor(t.name + ".global_scale", io::DType::kF32, {2}, std::vector<float>{q.global_encode, q.global_decode}));
      meta["recipe"] = quant::nvfp4_recipe_name(recipe);
      meta["layout"] = quant::scale_layout_name(layout);
      meta["padded_cols"] = padded;
      meta["amax"] = q.amax;
    } else {
      const quant::Int8Tensor q = quant::int8_quantize(t.values.data(), rows, cols, gran == "row" ? quant::Int8Granularity::kPerRow : quant::Int8Granularity::kPerTensor);
      outputs.push_back(raw_tensor(t.name + ".codes", io::DType::kI8, {rows, cols}, q.codes));
      outputs.push_back(raw_tensor(t.name + ".scales", io::DType::kF32, {static_cast<int64_t>(q.scales.size())}, q.scales));
      meta["granularity"] = gran;
    }
    metadata[t.name] = meta.dump();
    std::printf("%-40s [%lld x %lld] -> %s\n", t.name.c_str(), static_cast<long long>(rows), static_cast<long long>(cols), format.c_str());
  }
  io::write_safetensors(out, outputs, metadata, a.has("overwrite"));
  std::printf("wrote %s (%zu tensors)\n", out.c_str(), outputs.size());
  return 0;
}

}  // namespace sixbit::cli
