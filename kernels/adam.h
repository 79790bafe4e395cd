// Fused Adam update over flat buffers (launcher API), torch.optim.Adam semantics with amsgrad off:
//   d = wd != 0 ? g + wd * w : g;  m = beta1 * m + (1 - beta1) * d;  v = beta2 * v + (1 - beta2) * d^2
//   w -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
// The host computes step_size = lr / (1 - beta1^t), bias_correction2_sqrt = sqrt(1 - beta2^t) for step t
// (1-based) and the complements 1 - beta in double and passes them as floats, as PyTorch does.
// Twins (engine/dispatch.h): adam_cpu.cpp (host pointers), adam.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {

// One step's scalars.
struct AdamStep {
  float step_size;              // lr / (1 - beta1^t)
  float bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
};

template <Device D>
void adam_step(float* w, const float* g, float* m, float* v, int64_t n, const AdamStep& s);

}  // namespace mx::kernels
