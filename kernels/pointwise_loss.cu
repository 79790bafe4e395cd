// CUDA pointwise losses. Forward: one block of 1024 threads, each summing a fixed stride of elements in
// double, then the fixed-order block sum: deterministic run to run (the CPU twin sums in index order, so the
// two differ only by double rounding, far below float precision). Backward: one thread per element.
#include "kernels/launch.cuh"
#include "kernels/pointwise_loss.h"

namespace mx::kernels {

namespace {

constexpr int kLossThreads = 1024;

__global__ void __launch_bounds__(kLossThreads)
    forward_kernel(float* loss, const float* x, const float* t, int64_t n, int64_t per, PointLoss kind) {
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += point_loss(kind, x[i], t[i / per]);
  sum = block_sum(sum);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(sum / static_cast<double>(n));
}

struct Backward {
  float* dx;
  float* dt;
  const float* dloss;
  const float* x;
  const float* t;
  int64_t n, per;
  PointLoss kind;
  __device__ void operator()(int64_t i) const {
    const float scale = dloss[0] / static_cast<float>(n), target = t[i / per];
    if (dx) dx[i] = scale * point_loss_dx(kind, x[i], target);
    if (dt) dt[i] = scale * point_loss_dt(kind, x[i], target);
  }
};

}  // namespace

template <>
void pointwise_loss_forward<Device::CUDA>(float* loss, const float* x, const float* t, int64_t n, int64_t per,
                                          PointLoss kind) {
  if (n <= 0) return;
  forward_kernel<<<1, kLossThreads, 0, ::mx::cuda::current_stream()>>>(loss, x, t, n, per, kind);
  MX_CHECK_LAUNCH("pointwise_loss_forward");
}

template <>
void pointwise_loss_backward<Device::CUDA>(float* dx, float* dt, const float* dloss, const float* x, const float* t,
                                           int64_t n, int64_t per, PointLoss kind) {
  for_each_index(n, Backward{dx, dt, dloss, x, t, n, per, kind}, "pointwise_loss_backward");
}

}  // namespace mx::kernels
