// Elementwise kernels (launcher API): ReLU, addition and in-place accumulation; and for the GAN networks
// tanh, sigmoid, leaky ReLU, scaling and the per-sample blend, forward and backward.
// Twins (engine/dispatch.h): elementwise_cpu.cpp (host pointers), elementwise.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void relu_forward(float* y, const float* x, int64_t n);  // x > 0 or NaN ? x : 0 (a NaN goes on, as in PyTorch)
template <Device D>
void relu_backward(float* dx, const float* dy, const float* y, int64_t n);  // dx = dy * (y > 0)
template <Device D>
void add_forward(float* z, const float* a, const float* b, int64_t n);
template <Device D>
void add_inplace(float* dst, const float* src, int64_t n);  // dst += src
template <Device D>
void scale_inplace(float* dst, float s, int64_t n);  // dst *= s

template <Device D>
void scale_forward(float* y, const float* x, float s, int64_t n);  // y = s * x
template <Device D>
void tanh_forward(float* y, const float* x, int64_t n);
template <Device D>
void tanh_backward(float* dx, const float* dy, const float* y, int64_t n);  // dx = dy * (1 - y^2)
template <Device D>
void sigmoid_forward(float* y, const float* x, int64_t n);  // 1 / (1 + exp(-x))
template <Device D>
void sigmoid_backward(float* dx, const float* dy, const float* y, int64_t n);  // dx = dy * y * (1 - y)
template <Device D>
void leaky_relu_forward(float* y, const float* x, float slope, int64_t n);  // x > 0 ? x : slope * x
template <Device D>
void leaky_relu_backward(float* dx, const float* dy, const float* x, float slope, int64_t n);
// out[i] = w * a[i] + (1 - w) * b[i] with w = lam[i / per] (per: elements of one sample).
template <Device D>
void blend_forward(float* out, const float* a, const float* b, const float* lam, int64_t n, int64_t per);
// da = w * g, db = (1 - w) * g; either may be null.
template <Device D>
void blend_backward(float* da, float* db, const float* g, const float* lam, int64_t n, int64_t per);
}  // namespace mx::kernels
