// CPU twin of the step guard: the sum of squares in double, parallel over elements with OpenMP.
#include "kernels/step_guard.h"

#include <algorithm>

namespace mx::kernels {

template <>
void step_guard<Device::CPU>(float* rec, const float* g, int64_t n, const float* loss, bool loss_decides) {
  double sum = 0;
#pragma omp parallel for simd reduction(+ : sum) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
  write_guard_record(rec, sum, *loss, loss_decides);
}

template <>
void restore_flagged<Device::CPU>(float* dst, const float* saved, int64_t n, const float* flag) {
  if (*flag != 0.f) std::copy(saved, saved + n, dst);
}

}  // namespace mx::kernels
