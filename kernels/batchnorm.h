// Batch normalisation over N, H, W per channel of an NCHW tensor (launcher API).
// Training saves the batch mean and 1/sqrt(var + eps) for the backward pass and updates the running
// statistics in place (PyTorch: biased variance normalises, unbiased variance enters the running
// estimate). Evaluation saves the running mean and its 1/sqrt(var + eps) the same way.
// The training forward and backward also come in pieces, so that a reduction over data-parallel
// ranks (synchronized batch norm, engine/ops_batchnorm.cpp) can sit between a channel's sums and
// their use: sums is a [2c] buffer of doubles, the first sum of every channel and then the second
// (kernels/batchnorm_formulas.h), and count the number of values they were summed over.
// A ReLU can ride along (ops::BatchNormArgs::relu): the forwards with `relu` write relu(bn(x)), and the
// backwards given that output as `relu_out` (null: no ReLU) take dy only where it is positive, exactly
// as relu_backward followed by the plain backward would.
// Twins (engine/dispatch.h): batchnorm_cpu.cpp (host pointers), batchnorm.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void batch_norm_train_forward(float* y, float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var, const float* x, const float* gamma, const float* beta,
                              int64_t n, int64_t c, int64_t hw, float momentum, float eps, bool relu);
// The pieces of batch_norm_train_forward, which they reproduce bit for bit with count = n * hw:
// sums = Σx then Σx² of every channel, then the forward from sums over `count` values (the running
// variance takes the unbiased count / (count - 1)).
template <Device D>
void batch_norm_forward_sums(double* sums, const float* x, int64_t n, int64_t c, int64_t hw);
template <Device D>
void batch_norm_train_forward_from_sums(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                        float* running_var, const float* x, const float* gamma, const float* beta,
                                        const double* sums, double count, int64_t n, int64_t c, int64_t hw,
                                        float momentum, float eps, bool relu);
template <Device D>
void batch_norm_eval_forward(float* y, float* save_mean, float* save_invstd, const float* x,
                             const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, int64_t n, int64_t c, int64_t hw, float eps, bool relu);
// dgamma and dbeta are overwritten; dx may be null when x needs no gradient. In training the batch
// statistics depend on x, which adds the mean-subtraction terms to dx; in evaluation
// dx = dy * gamma * invstd.
template <Device D>
void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                         int64_t c, int64_t hw, bool training, const float* relu_out);
// The pieces of the training batch_norm_backward, which they reproduce bit for bit with count = n * hw:
// sums = Σdy then Σdy·(x − mean) of every channel; dgamma and dbeta (overwritten) from sums; dx from
// sums over `count` values.
template <Device D>
void batch_norm_backward_sums(double* sums, const float* dy, const float* x, const float* save_mean, int64_t n,
                              int64_t c, int64_t hw, const float* relu_out);
template <Device D>
void batch_norm_param_grads(float* dgamma, float* dbeta, const double* sums, const float* save_invstd, int64_t c);
template <Device D>
void batch_norm_backward_dx_from_sums(float* dx, const float* dy, const float* x, const float* gamma,
                                      const float* save_mean, const float* save_invstd, const double* sums,
                                      double count, int64_t n, int64_t c, int64_t hw, const float* relu_out);
}  // namespace mx::kernels
