// `sixbit inspect FILE`: for float tensors, the error each quantization would introduce (SQNR, relative L2,
// max error) with its bits per element and bytes; for a file written by `sixbit quantize`, what it holds.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.hpp"
#include "emulation/quant/int8_quant.hpp"
#include "emulation/quant/nvfp4.hpp"
#include "harness/cli/args.hpp"
#include "metrics/error_stats.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::cli {

const char* const kInspectUsage =
    "usage: sixbit inspect FILE [options]\n"
    "  FILE  safetensors or .npy file. Float tensors: each is quantized as [rows, last_dim] with every requested\n"
    "        format and reported against itself. A file written by `sixbit quantize`: its tensors, formats, bytes.\n"
    "options:\n"
    "  --format nvfp4|int8|all     (default all)\n"
    "  --recipe te|modelopt|torchao|cutlass|all   NVFP4 recipes to report (default all)\n"
    "  --json                      print JSON instead of a table\n"
    "bits per element: NVFP4 4 + 8/16 (UE4M3 scale per 16) + 32/numel (fp32 tensor scale); INT8 8 + 32/row.\n";

namespace {

struct Row {
  std::string tensor, format, recipe, note;
  int64_t numel = 0;
  double bits = 0, bytes = 0;
  metrics::ErrorStats err;
};

nlohmann::json row_json(const Row& r) {
  nlohmann::json j = {{"tensor", r.tensor}, {"format", r.format}, {"numel", r.numel}, {"bits_per_element", r.bits}, {"bytes", r.bytes}};
  if (!r.recipe.empty()) j["recipe"] = r.recipe;
  if (!r.note.empty()) j["note"] = r.note;
  if (r.err.count) j["error"] = {{"sqnr_db", r.err.sqnr_db}, {"rel_l2", r.err.rel_l2}, {"max_abs", r.err.max_abs}, {"mean_abs", r.err.mean_abs}, {"nan", r.err.nan_count}, {"inf", r.err.inf_count}};
  return j;
}

// Rebuilds the quantized tensor `name` from its .codes/.scales/.global_scale entries, checking every size against
// the metadata, and dequantizes it: a file whose parts disagree is an error here, not garbage later.
std::vector<float> dequantize_entry(const io::SafetensorsFile& f, const std::string& name, const nlohmann::json& meta) {
  const io::TensorView& codes = f.get(name + ".codes");
  const io::TensorView& scales = f.get(name + ".scales");
  SIXBIT_CHECK(codes.shape.size() == 2, f.path(), ": '", name, ".codes' must be 2-D");
  const int64_t rows = codes.shape[0];
  const std::string format = meta["format"].get<std::string>();
  std::vector<float> out;
  if (format == "nvfp4") {
    SIXBIT_CHECK(codes.dtype == io::DType::kU8 && scales.dtype == io::DType::kU8, f.path(), ": '", name, "': NVFP4 codes and scales must be U8");
    quant::Nvfp4Tensor q;
    q.rows = rows;
    q.cols = 2 * codes.shape[1];
    SIXBIT_CHECK(q.cols % quant::kNvfp4Block == 0 && meta.value("padded_cols", int64_t{-1}) == q.cols, f.path(), ": '", name,
                 ".codes' has ", q.cols, " columns, metadata padded_cols disagrees or is not a multiple of 16");
    q.recipe = quant::nvfp4_recipe_from_name(meta.value("recipe", "te"));
    q.packed.assign(codes.data, codes.data + codes.nbytes);
    const int64_t scale_cols = q.cols / quant::kNvfp4Block;
    const bool blocked = quant::scale_layout_from_name(meta.value("layout", "row")) == quant::ScaleLayout::kBlocked128x4;
    const int64_t want = blocked ? (rows + 127) / 128 * 128 * ((scale_cols + 3) / 4 * 4) : rows * scale_cols;
    SIXBIT_CHECK(static_cast<int64_t>(scales.nbytes) == want, f.path(), ": '", name, ".scales' has ", scales.nbytes, " bytes, the layout needs ", want);
    q.scales = blocked ? quant::scales_from_blocked_128x4(scales.data, rows, scale_cols) : std::vector<uint8_t>(scales.data, scales.data + scales.nbytes);
    const std::vector<float> g = io::to_f32(f.get(name + ".global_scale"));
    SIXBIT_CHECK(g.size() == 2, f.path(), ": '", name, ".global_scale' must hold [encode, decode]");
    q.global_encode = g[0];
    q.global_decode = g[1];
    out.resize(static_cast<size_t>(rows * q.cols));
    quant::nvfp4_dequantize(q, out.data());
  } else {
    SIXBIT_CHECK(format == "int8", f.path(), ": '", name, "': unknown format '", format, "'");
    SIXBIT_CHECK(codes.dtype == io::DType::kI8 && scales.dtype == io::DType::kF32, f.path(), ": '", name, "': INT8 codes must be I8, scales F32");
    quant::Int8Tensor q;
    q.rows = rows;
    q.cols = codes.shape[1];
    q.granularity = meta.value("granularity", "row") == "row" ? quant::Int8Granularity::kPerRow : quant::Int8Granularity::kPerTensor;
    q.codes.resize(codes.nbytes);
    std::memcpy(q.codes.data(), codes.data, codes.nbytes);
    q.scales = io::to_f32(scales);
    const size_t want = q.granularity == quant::Int8Granularity::kPerRow ? static_cast<size_t>(rows) : 1;
    SIXBIT_CHECK(q.scales.size() == want, f.path(), ": '", name, ".scales' has ", q.scales.size(), " entries, expected ", want);
    out.resize(static_cast<size_t>(rows * q.cols));
    quant::int8_dequantize(q, out.data());
  }
  return out;
}

int inspect_quantized(const io::SafetensorsFile& f, bool as_json) {
  nlohmann::json all = nlohmann::json::array();
  if (!as_json) std::printf("%-32s %-6s %-9s %-6s %14s %10s %12s %12s\n", "tensor", "format", "recipe", "layout", "bytes", "bits/elem", "deq amax", "deq rms");
  for (const auto& [name, text] : f.metadata()) {
    if (name.rfind("sixbit.", 0) == 0) continue;
    nlohmann::json meta;
    try {
      meta = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      SIXBIT_CHECK(false, f.path(), ": metadata for '", name, "' is not valid JSON: ", e.what());
    }
    SIXBIT_CHECK(meta.contains("format") && meta.contains("shape"), f.path(), ": metadata for '", name, "' lacks format/shape");
    int64_t numel = 1;
    for (int64_t d : meta["shape"].get<std::vector<int64_t>>()) numel *= d;
    double bytes = static_cast<double>(f.get(name + ".codes").nbytes + f.get(name + ".scales").nbytes);
    if (f.contains(name + ".global_scale")) bytes += static_cast<double>(f.get(name + ".global_scale").nbytes);
    const double bits = numel ? 8.0 * bytes / static_cast<double>(numel) : 0.0;
    const std::vector<float> values = dequantize_entry(f, name, meta);
    double amax = 0, sum_sq = 0;
    int64_t nonfinite = 0;
    for (float v : values) {
      if (!std::isfinite(v)) {
        ++nonfinite;
        continue;
      }
      amax = std::fmax(amax, std::fabs(static_cast<double>(v)));
      sum_sq += static_cast<double>(v) * v;
    }
    const double rms = values.empty() ? 0.0 : std::sqrt(sum_sq / static_cast<double>(values.size()));
    if (as_json) {
      meta["dequantized"] = {{"amax", amax}, {"rms", rms}, {"non_finite", nonfinite}};
      meta["tensor"] = name;
      meta["bytes"] = bytes;
      meta["bits_per_element"] = bits;
      all.push_back(meta);
    } else {
      std::printf("%-32s %-6s %-9s %-6s %14.0f %10.3f %12.5g %12.5g%s\n", name.c_str(), meta["format"].get<std::string>().c_str(),
                  meta.value("recipe", "-").c_str(), meta.value("layout", "-").c_str(), bytes, bits, amax, rms, nonfinite ? "  NON-FINITE VALUES" : "");
    }
  }
  if (as_json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"format", "recipe"}, {"json"});
  if (a.positional.size() != 1) throw UsageError("expected one FILE");
  const std::string path = a.positional[0], format = a.get("format", "all"), recipe = a.get("recipe", "all");
  if (format != "all" && format != "nvfp4" && format != "int8") throw UsageError("--format must be nvfp4, int8 or all");
  std::vector<quant::Nvfp4Recipe> recipes;
  if (recipe == "all") recipes = {quant::Nvfp4Recipe::kTe, quant::Nvfp4Recipe::kModelopt, quant::Nvfp4Recipe::kTorchao, quant::Nvfp4Recipe::kCutlass};
  else recipes = {quant::nvfp4_recipe_from_name(recipe)};
  const bool as_json = a.has("json");
  {
    std::ifstream probe(path, std::ios::binary);
    SIXBIT_CHECK(probe.good(), path, ": cannot open");
    char magic[6] = {};
    probe.read(magic, 6);
    if (!(probe.gcount() == 6 && std::string(magic, 6) == "\x93NUMPY")) {
      const io::SafetensorsFile f = io::SafetensorsFile::open(path);
      if (f.metadata().count("sixbit.version")) return inspect_quantized(f, as_json);
    }
  }
  std::vector<Row> rows;
  for (const auto& t : io::load_float_tensors(path, true)) {
    SIXBIT_CHECK(!t.shape.empty(), path, ": tensor '", t.name, "' is a scalar");
    SIXBIT_CHECK(!t.values.empty(), path, ": tensor '", t.name, "' has no elements (shape with a 0); nothing to inspect");
    const int64_t cols = t.shape.back(), n = static_cast<int64_t>(t.values.size()), nrows = cols ? n / cols : 0;
    int64_t nan = 0;
    for (float v : t.values) nan += std::isnan(v);
    SIXBIT_CHECK(nan == 0, path, ": tensor '", t.name, "' has ", nan, " NaN value(s); cannot measure quantization error");
    std::vector<float> back(t.values.size());
    rows.push_back({t.name, "fp32", "", "", n, 32.0, 4.0 * n, {}});
    rows.push_back({t.name, "bf16", "", "reference size", n, 16.0, 2.0 * n, {}});
    if (format != "int8") {
      for (auto r : recipes) {
        Row row{t.name, "nvfp4", std::string(quant::nvfp4_recipe_name(r)), "", n, 0, 0, {}};
        if (cols % 16 != 0) {
          row.note = "skipped: last dimension not a multiple of 16 (sixbit quantize --pad)";
        } else {
          const auto q = quant::nvfp4_quantize(t.values.data(), nrows, cols, r);
          quant::nvfp4_dequantize(q, back.data());
          row.err = metrics::compute_error_stats(t.values.data(), back.data(), n);
          row.bytes = static_cast<double>(q.packed.size() + q.scales.size() + 4);
          row.bits = 8.0 * row.bytes / static_cast<double>(n);
        }
        rows.push_back(row);
      }
    }
    if (format != "nvfp4") {
      const auto q = quant::int8_quantize(t.values.data(), nrows, cols, quant::Int8Granularity::kPerRow);
      quant::int8_dequantize(q, back.data());
      Row row{t.name, "int8", "per-row", "", n, 0, 0, metrics::compute_error_stats(t.values.data(), back.data(), n)};
      row.bytes = static_cast<double>(q.codes.size() + 4 * q.scales.size());
      row.bits = 8.0 * row.bytes / static_cast<double>(n);
      rows.push_back(row);
    }
  }
  if (as_json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) j.push_back(row_json(r));
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-28s %-6s %-9s %9s %10s %10s %10s %12s %8s\n", "tensor", "format", "recipe", "SQNR dB", "rel L2", "max err", "bits/elem", "bytes", "vs bf16");
  for (const auto& r : rows) {
    if (!r.note.empty() && r.bytes == 0) {
      std::printf("%-28s %-6s %-9s %s\n", r.tensor.c_str(), r.format.c_str(), r.recipe.c_str(), r.note.c_str());
      continue;
    }
    const double vs_bf16 = r.bytes > 0 ? 2.0 * static_cast<double>(r.numel) / r.bytes : 0;
    if (r.err.count)
      std::printf("%-28s %-6s %-9s %9.2f %10.3e %10.3e %10.3f %12.0f %7.2fx\n", r.tensor.c_str(), r.format.c_str(), r.recipe.c_str(), r.err.sqnr_db,
                  r.err.rel_l2, r.err.max_abs, r.bits, r.bytes, vs_bf16);
    else
      std::printf("%-28s %-6s %-9s %9s %10s %10s %10.3f %12.0f %7.2fx\n", r.tensor.c_str(), r.format.c_str(), r.recipe.c_str(), "-", "-", "-", r.bits, r.bytes,
                  vs_bf16);
  }
  return 0;
}

}  // namespace sixbit::cli
