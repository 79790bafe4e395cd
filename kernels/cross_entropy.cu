// CUDA mixed-label cross-entropy. Forward: one block, a warp per row (max and sum of exponentials in
// double across the lanes), the row losses summed in double in a fixed order, so the result is
// deterministic. Backward: one thread per logit.
#include <cmath>

#include "kernels/cross_entropy.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

constexpr int kLossThreads = 1024;

// The bound lets a -G debug build, whose kernels use more registers, still launch 1024 threads.
__global__ void __launch_bounds__(kLossThreads) forward_kernel(float* loss, float* lse, const float* logits, const int32_t* ya, const int32_t* yb,
                               const float* lam, int64_t n, int64_t k) {
  const int lane = threadIdx.x % 32;
  double total = 0;  // this warp's rows, kept by lane 0
  for (int64_t i = threadIdx.x / 32; i < n; i += blockDim.x / 32) {
    const float* row = logits + i * k;
    float top = -INFINITY;
    for (int64_t j = lane; j < k; j += 32) top = fmaxf(top, row[j]);
    top = warp_max(top);
    double sum = 0;
    for (int64_t j = lane; j < k; j += 32) sum += exp(static_cast<double>(row[j] - top));
    sum = warp_sum(sum);
    if (lane == 0) {
      const double log_z = top + log(sum);
      lse[i] = static_cast<float>(log_z);
      const bool valid = ya[i] >= 0 && ya[i] < k && yb[i] >= 0 && yb[i] < k;
      total += valid ? lam[i] * (log_z - row[ya[i]]) + (1.0 - lam[i]) * (log_z - row[yb[i]]) : NAN;
    }
  }
  total = block_sum(total);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(total / static_cast<double>(n));
}

struct Backward {
  float* dlogits;
  const float* dloss;
  const float* logits;
  const float* lse;
  const int32_t* ya;
  const int32_t* yb;
  const float* lam;
  int64_t n, k;
  __device__ void operator()(int64_t e) const {
    const int64_t i = e / k, j = e % k;
    const float scale = dloss[0] / static_cast<float>(n);
    float g = scale * expf(logits[e] - lse[i]);
    if (j == ya[i]) g -= scale * lam[i];
    if (j == yb[i]) g -= scale * (1.f - lam[i]);
    dlogits[e] = g;
  }
};

}  // namespace

template <>
void mixed_cross_entropy_forward<Device::CUDA>(float* loss, float* lse, const float* logits, const int32_t* ya,
                                               const int32_t* yb, const float* lam, int64_t n, int64_t k) {
  if (n <= 0) return;
  forward_kernel<<<1, kLossThreads, 0, ::mx::cuda::current_stream()>>>(loss, lse, logits, ya, yb, lam, n, k);
  MX_CHECK_LAUNCH("mixed_cross_entropy_forward");
}

template <>
void mixed_cross_entropy_backward<Device::CUDA>(float* dlogits, const float* dloss, const float* logits,
                                                const float* lse, const int32_t* ya, const int32_t* yb,
                                                const float* lam, int64_t n, int64_t k) {
  for_each_index(n * k, Backward{dlogits, dloss, logits, lse, ya, yb, lam, n, k}, "mixed_cross_entropy_backward");
}

}  // namespace mx::kernels
