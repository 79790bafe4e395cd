// Comparisons of op results tied to float32 precision (see op_compare.h).
#include "tests/ops/op_compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/memory.h"

namespace mx::test {

bool is_poison(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits == kPoisonWord;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return v.empty() ? 0 : std::sqrt(s / static_cast<double>(v.size()));
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

namespace {

std::string size_mismatch(size_t got, size_t want, const std::string& what) {
  std::ostringstream os;
  os << what << ": " << got << " elements, expected " << want;
  return os.str();
}

// "<what>: element i is <got>, <label> <want> (tolerance tol)", or "... was never written".
template <typename W>
std::string element_error(const std::string& what, size_t i, float got, W want, const char* label, double tol) {
  std::ostringstream os;
  os.precision(9);
  os << what << ": element " << i;
  if (is_poison(got)) os << " was never written";
  else os << " is " << got << ", " << label << " " << want << " (tolerance " << tol << ")";
  return os.str();
}

}  // namespace

std::string compare_close(const std::vector<float>& got, const std::vector<float>& want, double tol,
                          const std::string& what, double scale) {
  if (got.size() != want.size()) return size_mismatch(got.size(), want.size(), what);
  const double floor = std::max({rms(want), scale, 1e-30});
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    // Written so that a NaN anywhere fails.
    if (is_poison(got[i]) || !(err <= tol * std::max(std::fabs(static_cast<double>(want[i])), floor)))
      return element_error(what, i, got[i], want[i], "expected", tol);
  }
  return "";
}

std::string compare_reference(const std::vector<float>& got, const std::vector<double>& want, double tol,
                              const std::string& what) {
  if (got.size() != want.size()) return size_mismatch(got.size(), want.size(), what);
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = tol == 0 ? got[i] == static_cast<float>(want[i])
                             : std::fabs(got[i] - want[i]) <= tol * std::max(1.0, std::fabs(want[i]));
    if (is_poison(got[i]) || !ok) return element_error(what, i, got[i], want[i], "reference", tol);
  }
  return "";
}

std::string first_non_finite(const std::vector<float>& v, const std::string& what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) {
      std::ostringstream os;
      os << what << ": element " << i;
      if (is_poison(v[i])) os << " was never written";
      else os << " is " << v[i];
      return os.str();
    }
  return "";
}

}  // namespace mx::test
