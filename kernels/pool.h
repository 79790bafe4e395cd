// Pooling kernels over the n*c planes of an NCHW tensor (launcher API). Windows are kernel x kernel
// with the given stride and zero padding; the caller computes oh, ow (floor mode).
// Twins (engine/dispatch.h): pool_cpu.cpp (host pointers), pool.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
// argmax receives, per output, the flat index inside its input plane of the maximum.
template <Device D>
void max_pool2d_forward(float* y, int32_t* argmax, const float* x, int64_t planes, int64_t h, int64_t w,
                        int64_t oh, int64_t ow, int kernel, int stride, int padding);
template <Device D>
void max_pool2d_backward(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int64_t h,
                         int64_t w, int64_t oh, int64_t ow);
// Average over the whole window, padding included (divisor kernel * kernel, PyTorch's default).
template <Device D>
void avg_pool2d_forward(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                        int64_t ow, int kernel, int stride, int padding);
template <Device D>
void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, int kernel, int stride, int padding);
// Mean of each plane of hw elements, and its gradient dy / hw spread over the plane.
template <Device D>
void global_avg_pool_forward(float* y, const float* x, int64_t planes, int64_t hw);
template <Device D>
void global_avg_pool_backward(float* dx, const float* dy, int64_t planes, int64_t hw);
}  // namespace mx::kernels
