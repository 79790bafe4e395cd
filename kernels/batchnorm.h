// Batch normalisation over N, H, W per channel of an NCHW tensor (launcher API).
// Training saves the batch mean and 1/sqrt(var + eps) for the backward pass and updates the running
// statistics in place (PyTorch: biased variance normalises, unbiased variance enters the running
// estimate). Evaluation saves the running mean and its 1/sqrt(var + eps) the same way.
// Twins (engine/dispatch.h): batchnorm_cpu.cpp (host pointers), batchnorm.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void batch_norm_train_forward(float* y, float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var, const float* x, const float* gamma, const float* beta,
                              int64_t n, int64_t c, int64_t hw, float momentum, float eps);
template <Device D>
void batch_norm_eval_forward(float* y, float* save_mean, float* save_invstd, const float* x,
                             const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, int64_t n, int64_t c, int64_t hw, float eps);
// dgamma and dbeta are overwritten; dx may be null when x needs no gradient. In training the batch
// statistics depend on x, which adds the mean-subtraction terms to dx; in evaluation
// dx = dy * gamma * invstd.
template <Device D>
void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                         int64_t c, int64_t hw, bool training);
}  // namespace mx::kernels
