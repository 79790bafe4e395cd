// CPU twin of the fused Adam update, parallel over elements with OpenMP.
#include <cmath>

#include "kernels/adam.h"

namespace mx::kernels {

template <>
void adam_step<Device::CPU>(float* w, const float* g, float* m, float* v, int64_t n, const AdamStep& s) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float d = s.weight_decay != 0.f ? g[i] + s.weight_decay * w[i] : g[i];
    const float mi = s.beta1 * m[i] + s.one_minus_beta1 * d;
    const float vi = s.beta2 * v[i] + s.one_minus_beta2 * d * d;
    m[i] = mi;
    v[i] = vi;
    w[i] -= s.step_size * mi / (std::sqrt(vi) / s.bias_correction2_sqrt + s.eps);
  }
}

}  // namespace mx::kernels
