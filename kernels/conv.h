// 2-D convolution (launcher API), cross-correlation with groups, square stride and zero padding.
// Twins (engine/dispatch.h): conv_cpu.cpp (im2col + Eigen GEMM, OpenMP over the batch) and
// conv_cudnn.cpp (cuDNN, device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {

// The geometry of one convolution: x [n, c, h, w], weight [o, c / groups, kh, kw], y [n, o, oh, ow].
struct ConvShape {
  int64_t n, c, h, w;
  int64_t o, kh, kw;
  int64_t oh, ow;
  int64_t stride, padding, groups;
};

// bias may be null.
template <Device D>
void conv2d_forward(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
template <Device D>
void conv2d_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, const ConvShape& s);

}  // namespace mx::kernels
