// Elementwise kernels: ReLU forward/backward, addition and in-place accumulation (launcher API).
// Twins (engine/dispatch.h): elementwise_cpu.cpp (host pointers), elementwise.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void relu_forward(float* y, const float* x, int64_t n);
template <Device D>
void relu_backward(float* dx, const float* dy, const float* y, int64_t n);  // dx = dy * (y > 0)
template <Device D>
void add_forward(float* z, const float* a, const float* b, int64_t n);
template <Device D>
void add_inplace(float* dst, const float* src, int64_t n);  // dst += src
template <Device D>
void scale_inplace(float* dst, float s, int64_t n);  // dst *= s
}  // namespace mx::kernels
