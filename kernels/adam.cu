// CUDA fused Adam update: one pass over the flat parameter, gradient and moment buffers.
#include "engine/cuda/runtime.h"
#include "kernels/adam.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

struct AdamElement {
  float* w;
  const float* g;
  float* m;
  float* v;
  AdamStep s;
  __device__ void operator()(int64_t i) const {
    const float d = s.weight_decay != 0.f ? g[i] + s.weight_decay * w[i] : g[i];
    const float mi = s.beta1 * m[i] + s.one_minus_beta1 * d;
    const float vi = s.beta2 * v[i] + s.one_minus_beta2 * d * d;
    m[i] = mi;
    v[i] = vi;
    w[i] -= s.step_size * mi / (sqrtf(vi) / s.bias_correction2_sqrt + s.eps);
  }
};

}  // namespace

template <>
void adam_step<Device::CUDA>(float* w, const float* g, float* m, float* v, int64_t n, const AdamStep& s) {
  ::mx::cuda::ProfileScope scope("optimizer");
  for_each_index(n, AdamElement{w, g, m, v, s}, "adam_step");
}

}  // namespace mx::kernels
