// Mean pointwise losses of the GAN objectives (launcher API): L1 and MSE against a target, and binary
// cross-entropy with logits, each as the mean over n elements of f(x[i], t[i / per]). per = 1 pairs
// every element with its own target (L1 / MSE between two images); per = elements of one sample gives each
// sample one target (the discriminator's 1, 0 or mixup-C lambda, broadcast over its patch map).
// Twins (engine/dispatch.h): pointwise_loss_cpu.cpp (host pointers), pointwise_loss.cu (device pointers,
// compute stream). Both sum in double in a fixed order, so each is deterministic run to run.
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/device.h"
#include "kernels/host_device.h"

namespace mx::kernels {

enum class PointLoss : int32_t { kL1 = 0, kMse = 1, kBceWithLogits = 2 };

// f(x, t) and its partial derivatives, shared by both twins.
MX_HD inline double point_loss(PointLoss kind, double x, double t) {
  switch (kind) {
    case PointLoss::kL1: return fabs(x - t);
    case PointLoss::kMse: return (x - t) * (x - t);
    default: return fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));  // stable BCE with logits
  }
}
MX_HD inline float point_loss_dx(PointLoss kind, float x, float t) {
  switch (kind) {
    case PointLoss::kL1: return x > t ? 1.f : (x < t ? -1.f : 0.f);  // torch: sign, 0 at a tie
    case PointLoss::kMse: return 2.f * (x - t);
    default: return 1.f / (1.f + expf(-x)) - t;
  }
}
MX_HD inline float point_loss_dt(PointLoss kind, float x, float t) {
  return kind == PointLoss::kBceWithLogits ? -x : -point_loss_dx(kind, x, t);
}

// loss[0] = (1 / n) * sum_i f(x[i], t[i / per]).
template <Device D>
void pointwise_loss_forward(float* loss, const float* x, const float* t, int64_t n, int64_t per, PointLoss kind);
// dx[i] = dloss[0] / n * df/dx, dt[i] = dloss[0] / n * df/dt (dt only with per = 1); either may be null.
// dloss is one element in the same memory as the other arguments.
template <Device D>
void pointwise_loss_backward(float* dx, float* dt, const float* dloss, const float* x, const float* t, int64_t n,
                             int64_t per, PointLoss kind);

}  // namespace mx::kernels
