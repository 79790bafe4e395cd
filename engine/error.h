// Error reporting: one exception type and a check macro that names the condition and location.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mx {

// Every user-facing failure is an mx::Error whose what() is a single line.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An allocation the host or the GPU could not serve; what() names the device and the bytes asked for.
// The trainer adds the batch size and a hint.
struct OutOfMemory : Error {
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// A value for a message: "nan" for every NaN (libstdc++ prints one made by arithmetic as "-nan").
inline std::string shown(double v) { return v != v ? "nan" : concat(v); }
}  // namespace detail

}  // namespace mx

// MX_CHECK(cond, parts...): throw mx::Error with the streamed message when cond is false.
#define MX_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) throw ::mx::Error(::mx::detail::concat(__VA_ARGS__)); \
  } while (0)

#define MX_FAIL(...) throw ::mx::Error(::mx::detail::concat(__VA_ARGS__))

namespace mx {

// Throws "<flag>: unknown <what> '<value>' (known: a, b, c)" unless value is one of `known`.
inline void check_one_of(const std::string& flag, const std::string& value, const std::vector<std::string>& known,
                         const char* what = "value") {
  for (const auto& k : known)
    if (k == value) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  MX_FAIL(flag, ": unknown ", what, " '", value, "' (known: ", list, ")");
}

}  // namespace mx
