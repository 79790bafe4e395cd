// CPU convolution: per-image im2col and Eigen GEMM, OpenMP over the batch (cuDNN's job on GPU).
#pragma once
#include "engine/conv_shape.h"

namespace mx::cpu {

// bias may be null.
void conv2d_forward(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
void conv2d_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, const ConvShape& s);

}  // namespace mx::cpu
