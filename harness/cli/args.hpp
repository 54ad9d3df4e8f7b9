// sixbit/harness/cli/args.hpp: a small, strict command-line parser. `--name value` and `--flag`; every
// option must be declared, so a typo is an error (exit 2) rather than silently ignored.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sixbit::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // name (without --) -> value ("" for flags)
  std::set<std::string> flags;

  bool has(const std::string& name) const { return flags.count(name) || options.count(name); }
  std::string get(const std::string& name, const std::string& fallback) const;
  long long get_int(const std::string& name, long long fallback, long long lo, long long hi) const;
  // A finite decimal number in [lo, hi]; anything else is a UsageError naming the option.
  double get_double(const std::string& name, double fallback, double lo, double hi) const;
};

// `value_options` take a value, `flag_options` do not; anything else starting with "--" is a UsageError.
Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& value_options, const std::set<std::string>& flag_options);

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  // full --help text
  int (*run)(const std::vector<std::string>& argv);
};

int cmd_quantize(const std::vector<std::string>& argv);
int cmd_inspect(const std::vector<std::string>& argv);
int cmd_run(const std::vector<std::string>& argv);
int cmd_layer(const std::vector<std::string>& argv);
int cmd_calibrate(const std::vector<std::string>& argv);
int cmd_compare(const std::vector<std::string>& argv);
int cmd_cache_sweep(const std::vector<std::string>& argv);
extern const char* const kQuantizeUsage;
extern const char* const kInspectUsage;
extern const char* const kRunUsage;
extern const char* const kLayerUsage;
extern const char* const kCalibrateUsage;
extern const char* const kCompareUsage;
extern const char* const kCacheSweepUsage;

}  // namespace sixbit::cli
