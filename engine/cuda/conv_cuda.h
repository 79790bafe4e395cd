// Convolution on the GPU through cuDNN (engine/cuda/conv_cuda.cpp): the signatures of
// engine/cpu/conv_cpu.h with device pointers, queued on the compute stream.
#pragma once
#include "engine/conv_shape.h"

namespace mx::cuda {

// bias may be null.
void conv2d_forward(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
void conv2d_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, const ConvShape& s);

}  // namespace mx::cuda
