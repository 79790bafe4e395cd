// Mixed-label cross-entropy fused with log-softmax (launcher API). Row i of logits [n, k] has the loss
// lam[i] * (lse_i - logits[i, ya[i]]) + (1 - lam[i]) * (lse_i - logits[i, yb[i]]), lse_i the
// log-sum-exp of the row. Labels must lie in [0, k) (the front-end checks them).
// Twins (engine/dispatch.h): cross_entropy_cpu.cpp (host pointers), cross_entropy.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
// loss[0] = mean over rows; lse[i] is saved for the backward pass.
template <Device D>
void mixed_cross_entropy_forward(float* loss, float* lse, const float* logits, const int32_t* ya,
                                 const int32_t* yb, const float* lam, int64_t n, int64_t k);
// dlogits = dloss[0] / n * (softmax - lam * onehot(ya) - (1 - lam) * onehot(yb)); dloss is one
// element in the same memory as the other arguments.
template <Device D>
void mixed_cross_entropy_backward(float* dlogits, const float* dloss, const float* logits, const float* lse,
                                  const int32_t* ya, const int32_t* yb, const float* lam, int64_t n,
                                  int64_t k);
}  // namespace mx::kernels
