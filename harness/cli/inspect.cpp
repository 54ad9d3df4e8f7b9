// `sixbit inspect FILE`: for float tensors, the error each quantization would introduce (SQNR, relative L2,
// max error) with its bits per element and bytes; for a file written by `sixbit quantize`, what it holds.
#include <cmath>
#include <cstdio>
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
  if (r.err.count) j["error"] = {{"sqnr_db", r.err.sqnr_db}, {"rel_l2", r.err.rel_l2}, {"max_abs", r.err.max_abs}, {"nan", r.err.nan_count}};
  return j;
}

int inspect_quantized(const io::SafetensorsFile& f, bool as_json) {
  nlohmann::json all = nlohmann::json::array();
  std::printf(as_json ? "" : "%-32s %-6s %-9s %-6s %14s %10s\n", "tensor", "format", "recipe", "layout", "bytes", "bits/elem");
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
    if (as_json) {
      meta["tensor"] = name;
      meta["bytes"] = bytes;
      meta["bits_per_element"] = bits;
      all.push_back(meta);
    } else {
      std::printf("%-32s %-6s %-9s %-6s %14.0f %10.3f\n", name.c_str(), meta["format"].get<std::string>().c_str(), meta.value("recipe", "-").c_str(),
                  meta.value("layout", "-").c_str(), bytes, bits);
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
