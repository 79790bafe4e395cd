// CUDA fused SGD update: one pass over the flat parameter, gradient and momentum buffers.
#include "engine/cuda/runtime.h"
#include "kernels/launch.cuh"
#include "kernels/sgd.h"

namespace mx::kernels {

namespace {

struct SgdStep {
  float* w;
  const float* g;
  float* buf;
  const float* skip;
  float lr, momentum, weight_decay;
  bool nesterov, first_step, use_buf;
  __device__ void operator()(int64_t i) const {
    if (skip && *skip != 0.f) return;
    float d = g[i] + weight_decay * w[i];
    if (use_buf) {
      float b = first_step ? d : momentum * buf[i] + d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    w[i] -= lr * d;
  }
};

}  // namespace

template <>
void sgd_step<Device::CUDA>(float* w, const float* g, float* buf, int64_t n, float lr, float momentum,
                            float weight_decay, bool nesterov, bool first_step, const float* skip) {
  ::mx::cuda::ProfileScope scope("optimizer");
  const SgdStep op{w, g, buf, skip, lr, momentum, weight_decay, nesterov, first_step, momentum != 0.f};
  for_each_index(n, op, "sgd_step");
}

}  // namespace mx::kernels
