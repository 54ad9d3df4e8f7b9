// sixbit/harness/predictor/predictor.cpp: see predictor.hpp.
#include "harness/predictor/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/check.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::harness {

LinearFit fit_linear(const std::vector<double>& d, const std::vector<double>& s) {
  SIXBIT_CHECK(d.size() == s.size(), "fit_linear: ", d.size(), " d values but ", s.size(), " s values");
  LinearFit f;
  f.n = int64_t(d.size());
  if (f.n == 0) return f;
  double sd = 0, ss = 0;
  f.d_min = f.d_max = d[0];
  for (size_t i = 0; i < d.size(); ++i) {
    SIXBIT_CHECK(std::isfinite(d[i]) && std::isfinite(s[i]), "fit_linear: sample ", i, " is not finite (d ", d[i],
                 ", s ", s[i], ")");
    sd += d[i];
    ss += s[i];
    f.d_min = std::min(f.d_min, d[i]);
    f.d_max = std::max(f.d_max, d[i]);
  }
  f.d_mean = sd / double(f.n);
  f.s_mean = ss / double(f.n);
  double sdd = 0, sds = 0, sss = 0;  // centred sums (two-pass: no cancellation from raw moments)
  for (size_t i = 0; i < d.size(); ++i) {
    const double x = d[i] - f.d_mean, y = s[i] - f.s_mean;
    sdd += x * x;
    sds += x * y;
    sss += y * y;
  }
  f.c = f.s_mean;
  if (f.n < 2 || sdd <= 0) return f;
  f.a = sds / sdd;
  f.c = f.s_mean - f.a * f.d_mean;
  f.r = sss > 0 ? sds / std::sqrt(sdd * sss) : 0.0;
  double ss_res = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const double e = s[i] - (f.a * d[i] + f.c);
    ss_res += e * e;
  }
  f.r2 = sss > 0 ? 1.0 - ss_res / sss : 0.0;
  if (f.n >= 3) f.slope_stderr = std::sqrt(ss_res / double(f.n - 2) / sdd);
  return f;
}

nlohmann::json fit_to_json(const LinearFit& f) {
  return {{"a", f.a}, {"c", f.c}, {"r", f.r}, {"r2", f.r2}, {"n", f.n}, {"d_min", f.d_min}, {"d_max", f.d_max},
          {"d_mean", f.d_mean}, {"s_mean", f.s_mean}, {"slope_stderr", f.slope_stderr}};
}

namespace {
double number(const nlohmann::json& j, const char* key, const std::string& where) {
  SIXBIT_CHECK(j.is_object() && j.contains(key) && j.at(key).is_number(), "predictor: ", where, ".", key,
               " is missing or not a number");
  const double v = j.at(key).get<double>();
  SIXBIT_CHECK(std::isfinite(v), "predictor: ", where, ".", key, " is not finite");
  return v;
}
LinearFit fit_from(const nlohmann::json& j, const std::string& where) {
  LinearFit f;
  f.a = number(j, "a", where);
  f.c = number(j, "c", where);
  f.r = number(j, "r", where);
  f.r2 = number(j, "r2", where);
  f.n = int64_t(number(j, "n", where));
  f.d_min = number(j, "d_min", where);
  f.d_max = number(j, "d_max", where);
  SIXBIT_CHECK(f.d_min <= f.d_max, "predictor: ", where, ": d_min > d_max");
  f.d_mean = j.contains("d_mean") ? number(j, "d_mean", where) : 0.0;
  f.s_mean = j.contains("s_mean") ? number(j, "s_mean", where) : 0.0;
  f.slope_stderr = j.contains("slope_stderr") ? number(j, "slope_stderr", where) : 0.0;
  return f;
}
}  // namespace

LinearFit fit_from_json(const nlohmann::json& j) { return fit_from(j, "fit"); }

double Predictor::predict(int b, double d) const {
  SIXBIT_CHECK(b >= 0 && b < num_blocks(), "predictor has ", num_blocks(), " blocks, asked for block ", b);
  const LinearFit& f = use_global ? global : blocks[size_t(b)];
  return std::max(0.0, f.a * d + f.c);
}

double Predictor::predict_min(int b) const {
  const LinearFit& f = use_global ? global : blocks[size_t(b)];
  return std::min(predict(b, f.d_min), predict(b, f.d_max));  // linear: the extremes are at the range's ends
}

double Predictor::predict_max(int b) const {
  const LinearFit& f = use_global ? global : blocks[size_t(b)];
  return std::max(predict(b, f.d_min), predict(b, f.d_max));
}

nlohmann::json predictor_to_json(const Predictor& p) {
  nlohmann::json blocks = nlohmann::json::array();
  for (size_t b = 0; b < p.blocks.size(); ++b) {
    nlohmann::json f = fit_to_json(p.blocks[b]);
    f["block"] = int(b);
    f["d_first"] = p.d_first[b];
    blocks.push_back(f);
  }
  return {{"kind", "sixbit.predictor"},
          {"version", 1},
          {"model", p.model},
          {"probe", p.probe},
          {"recipe", p.recipe},
          {"definitions",
           {{"d", "sum|out - in| / sum|in| over the block's [tokens, dim] output and input (relative L1)"},
            {"s", "sum|out_w4a4 - out_full| / sum|out_full|, both from the same block input (relative L1)"},
            {"inference_d", "the d the block had when it last ran in the same CFG pass; d_first at a pass's first step"}}},
          {"global", fit_to_json(p.global)},
          {"blocks", blocks},
          {"use_global", p.use_global},
          {"calibration", p.calibration.is_null() ? nlohmann::json::object() : p.calibration}};
}

Predictor predictor_from_json(const nlohmann::json& j, int num_layers) {
  SIXBIT_CHECK(j.is_object() && j.value("kind", "") == "sixbit.predictor",
               "predictor: not a sixbit predictor (\"kind\" must be \"sixbit.predictor\")");
  SIXBIT_CHECK(j.contains("version") && j["version"] == 1, "predictor: unsupported version (expected 1)");
  Predictor p;
  p.model = j.value("model", "");
  p.probe = j.value("probe", "w4a4");
  p.recipe = j.value("recipe", "te");
  p.use_global = j.value("use_global", false);
  SIXBIT_CHECK(j.contains("global"), "predictor: \"global\" fit is missing");
  p.global = fit_from(j["global"], "global");
  SIXBIT_CHECK(j.contains("blocks") && j["blocks"].is_array(), "predictor: \"blocks\" is missing or not an array");
  SIXBIT_CHECK(num_layers > 0 && int(j["blocks"].size()) == num_layers, "predictor: has ", j["blocks"].size(),
               " blocks, the model has ", num_layers, " (calibrated on '", p.model, "'?)");
  for (size_t b = 0; b < j["blocks"].size(); ++b) {
    const std::string where = "blocks[" + std::to_string(b) + "]";
    p.blocks.push_back(fit_from(j["blocks"][b], where));
    p.d_first.push_back(number(j["blocks"][b], "d_first", where));
  }
  p.calibration = j.value("calibration", nlohmann::json::object());
  return p;
}

Predictor load_predictor(const std::string& path, int num_layers) {
  std::ifstream in(path);
  SIXBIT_CHECK(in.good(), path, ": cannot open predictor file");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
  try {
    return predictor_from_json(j, num_layers);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

void save_predictor(const Predictor& p, const std::string& path, bool overwrite) {
  const std::string text = predictor_to_json(p).dump(2) + "\n";
  io::write_file_bytes(path, std::vector<uint8_t>(text.begin(), text.end()), overwrite);
}

}  // namespace sixbit::harness
