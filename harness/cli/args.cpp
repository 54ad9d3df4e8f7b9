#include "harness/cli/args.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace sixbit::cli {

namespace {
std::string format_bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

std::string Args::get(const std::string& name, const std::string& fallback) const {
  const auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

long long Args::get_int(const std::string& name, long long fallback, long long lo, long long hi) const {
  const auto it = options.find(name);
  if (it == options.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (errno || end == it->second.c_str() || *end != '\0' || v < lo || v > hi)
    throw UsageError("--" + name + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + it->second + "'");
  return v;
}

double Args::get_double(const std::string& name, double fallback, double lo, double hi) const {
  const auto it = options.find(name);
  if (it == options.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(it->second.c_str(), &end);
  if (errno || end == it->second.c_str() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
    throw UsageError("--" + name + " expects a number in [" + format_bound(lo) + ", " + format_bound(hi) + "], got '" + it->second + "'");
  return v;
}

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_options, const std::set<std::string>& flag_options) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
      const std::string name = s.substr(2);
      if (flag_options.count(name)) {
        a.flags.insert(name);
      } else if (value_options.count(name)) {
        if (i + 1 >= argv.size()) throw UsageError("option --" + name + " needs a value");
        if (a.options.count(name)) throw UsageError("option --" + name + " given twice");
        a.options[name] = argv[++i];
      } else {
        throw UsageError("unknown option " + s);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

}  // namespace sixbit::cli
