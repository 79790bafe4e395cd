// Fused SGD update over flat buffers (launcher API), torch.optim.SGD semantics with dampening 0:
//   d = g + wd * w;  buf = first_step ? d : momentum * buf + d;  step = nesterov ? d + momentum * buf : buf
//   w -= lr * step.  With momentum 0 the buffer is neither read nor written and step = d.
// skip: null, or one float on the same device (a step guard's flag, kernels/step_guard.h) read when
// the update runs: non-zero leaves w and buf exactly as they are.
// Twins (engine/dispatch.h): sgd_cpu.cpp (host pointers), sgd.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void sgd_step(float* w, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step, const float* skip);
}  // namespace mx::kernels
