// CPU twin of the fused SGD update, parallel over elements with OpenMP.
#include "kernels/sgd.h"

namespace mx::kernels {

template <>
void sgd_step<Device::CPU>(float* w, const float* g, float* buf, int64_t n, float lr, float momentum,
                           float weight_decay, bool nesterov, bool first_step, const float* skip) {
  if (skip && *skip != 0.f) return;
  const bool use_buf = momentum != 0.f;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] + weight_decay * w[i];
    if (use_buf) {
      float b = first_step ? d : momentum * buf[i] + d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    w[i] -= lr * d;
  }
}

}  // namespace mx::kernels
