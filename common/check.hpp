// sixbit/common/check.hpp: the one error-reporting macro every part of sixbit uses.
//
// SIXBIT_CHECK(cond, parts...) throws sixbit::Error carrying the failed expression, file, line and a
// message built from `parts` (anything that streams into std::ostream). Library code throws; the
// `sixbit` command catches at the top, prints the message and exits non-zero, so bad input never
// becomes a crash or silent garbage.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sixbit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Parts>
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const Parts&... parts) {
  std::ostringstream os;
  ((os << parts), ...);
  std::string msg = os.str();
  std::ostringstream full;
  full << (msg.empty() ? std::string("check failed") : msg) << " [" << expr << " at " << file << ":" << line << "]";
  throw Error(full.str());
}
}  // namespace detail

}  // namespace sixbit

#define SIXBIT_CHECK(cond, ...)                                                   \
  do {                                                                            \
    if (!(cond)) ::sixbit::detail::check_failed(#cond, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)
