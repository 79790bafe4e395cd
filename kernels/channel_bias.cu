// CUDA per-channel bias: one thread per element for the add; one block per channel for the gradient,
// which sums in double in the block's fixed order (deterministic; another order than the CPU twin's).
#include "kernels/channel_bias.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

struct AddChannelBias {
  float* y;
  const float* bias;
  int64_t c, hw;
  __device__ void operator()(int64_t e) const { y[e] += bias[e / hw % c]; }
};

__global__ void channel_bias_backward_kernel(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw) {
  const int64_t ch = blockIdx.x;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = dy + (i * c + ch) * hw;
    for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) sum += p[j];
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) dbias[ch] = static_cast<float>(sum);
}

}  // namespace

template <>
void channel_bias_forward<Device::CUDA>(float* y, const float* bias, int64_t n, int64_t c, int64_t hw) {
  for_each_index(n * c * hw, AddChannelBias{y, bias, c, hw}, "channel_bias_forward");
}

template <>
void channel_bias_backward<Device::CUDA>(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw) {
  if (c <= 0) return;
  channel_bias_backward_kernel<<<static_cast<unsigned>(c), kThreads, 0, cuda::current_stream()>>>(dbias, dy, n, c,
                                                                                                 hw);
  MX_CHECK_LAUNCH("channel_bias_backward");
}

}  // namespace mx::kernels
