// Fused SGD update over flat buffers (launcher API), torch.optim.SGD semantics with dampening 0:
//   d = g + wd * w;  buf = first_step ? d : momentum * buf + d;  step = nesterov ? d + momentum * buf : buf
//   w -= lr * step.  With momentum 0 the buffer is neither read nor written and step = d.
#pragma once
#include <cstdint>

namespace mx::kernels::cpu {
void sgd_step(float* w, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step);
}  // namespace mx::kernels::cpu

// The CUDA launchers (kernels/sgd.cu): the same signatures with device pointers, queued on the
// compute stream (engine/cuda/stream.h).
namespace mx::kernels::cuda {
void sgd_step(float* w, const float* g, float* buf, int64_t n, float lr, float momentum, float weight_decay,
              bool nesterov, bool first_step);
}  // namespace mx::kernels::cuda
