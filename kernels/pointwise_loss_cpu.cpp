// CPU twin of the pointwise losses: the forward sums in double in index order; the backward is parallel.
#include "kernels/pointwise_loss.h"

namespace mx::kernels {

template <>
void pointwise_loss_forward<Device::CPU>(float* loss, const float* x, const float* t, int64_t n, int64_t per,
                                         PointLoss kind) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += point_loss(kind, x[i], t[i / per]);
  loss[0] = static_cast<float>(sum / static_cast<double>(n));
}

template <>
void pointwise_loss_backward<Device::CPU>(float* dx, float* dt, const float* dloss, const float* x, const float* t,
                                          int64_t n, int64_t per, PointLoss kind) {
  const float scale = dloss[0] / static_cast<float>(n);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float target = t[i / per];
    if (dx) dx[i] = scale * point_loss_dx(kind, x[i], target);
    if (dt) dt[i] = scale * point_loss_dt(kind, x[i], target);
  }
}

}  // namespace mx::kernels
