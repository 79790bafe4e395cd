// CPU twin of the mixed-label cross-entropy: one row per iteration, the mean summed in double.
#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace mx::kernels {

template <>
void mixed_cross_entropy_forward<Device::CPU>(float* loss, float* lse, const float* logits, const int32_t* ya,
                                              const int32_t* yb, const float* lam, int64_t n, int64_t k) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * k;
    float top = *std::max_element(row, row + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j] - top));
    double log_z = top + std::log(sum);
    lse[i] = static_cast<float>(log_z);
    total += lam[i] * (log_z - row[ya[i]]) + (1.0 - lam[i]) * (log_z - row[yb[i]]);
  }
  loss[0] = static_cast<float>(total / static_cast<double>(n));
}

template <>
void mixed_cross_entropy_backward<Device::CPU>(float* dlogits, const float* dloss, const float* logits,
                                               const float* lse, const int32_t* ya, const int32_t* yb, const float* lam,
                                               int64_t n, int64_t k) {
  const float scale = dloss[0] / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * k;
    float* grow = dlogits + i * k;
    for (int64_t j = 0; j < k; ++j) grow[j] = scale * std::exp(row[j] - lse[i]);
    grow[ya[i]] -= scale * lam[i];
    grow[yb[i]] -= scale * (1.f - lam[i]);
  }
}

}  // namespace mx::kernels
