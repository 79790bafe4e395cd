// Instance normalisation of an NCHW tensor (launcher API): each of the n*c planes of hw values is
// normalised by its own mean and biased variance, then scaled and shifted per channel when gamma and
// beta are given. The forward saves each plane's mean and 1/sqrt(var + eps) for the backward pass.
// Twins (engine/dispatch.h): instance_norm_cpu.cpp (host pointers), instance_norm.cu (device pointers,
// compute stream). Both sum in double, one plane at a time in a fixed order.
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
// save_mean and save_invstd: [n * c]. gamma and beta: [c], both null for no affine.
template <Device D>
void instance_norm_forward(float* y, float* save_mean, float* save_invstd, const float* x, const float* gamma,
                           const float* beta, int64_t n, int64_t c, int64_t hw, float eps);
// dx, dgamma and dbeta may each be null when not wanted; the others are overwritten. gamma null means
// a scale of 1. The plane's statistics depend on x, which adds the mean-subtraction terms to dx.
template <Device D>
void instance_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                            const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                            int64_t c, int64_t hw);
}  // namespace mx::kernels
