// Comparisons of op results tied to float32 precision (no gtest): each returns an empty string when the
// values agree and otherwise one line naming the first element that does not. An element still holding
// the guarded allocator's poison (engine/memory.h) is reported as never written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mx::test {

bool is_poison(float v);

double rms(const std::vector<float>& v);

// ||got - want|| / ||want||, the normwise relative error.
double relative_error(const std::vector<float>& got, const std::vector<float>& want);

// Every element within tol relative to max(|want|, the root mean square of want, scale): rounding
// differences are judged against the values' typical size (or `scale`, the size of the terms that
// cancel into them), so outputs near zero do not demand a relative accuracy no float32 sum has.
std::string compare_close(const std::vector<float>& got, const std::vector<float>& want, double tol,
                          const std::string& what, double scale = 0);

// float32 results against a double-precision reference: within tol * max(1, |want|), or, with tol 0,
// exactly the float nearest to want (ops that only copy, select or add two values).
std::string compare_reference(const std::vector<float>& got, const std::vector<double>& want, double tol,
                              const std::string& what);

// The first element that is NaN or infinite, or "".
std::string first_non_finite(const std::vector<float>& v, const std::string& what);

}  // namespace mx::test
