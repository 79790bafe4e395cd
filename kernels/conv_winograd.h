// CPU Winograd convolution F(2x2, 3x3) for 3x3, stride-1, ungrouped layers (conv_winograd_cpu.cpp);
// conv_cpu.cpp routes the shapes it fits to it and everything else to im2col + GEMM.
#pragma once
#include "kernels/conv.h"

namespace mx::kernels {

// Whether conv_cpu.cpp routes this shape here: 3x3 taps, stride 1, one group, padding at most 2 (what
// the functions below compute), and where it is faster than im2col: enough channels on both sides that
// the 16 GEMMs are not dominated by the transforms, and tiles that cover at most 1.25 times the output.
bool winograd_fits(const ConvShape& s);

// y = conv(x, weight) + bias (bias may be null), as conv2d_forward; any 3x3, stride-1, one-group shape
// with padding at most 2, whatever winograd_fits says.
void winograd_forward(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s);

// dx and dweight (either may be null) overwritten, as conv2d_backward; the bias gradient is not computed.
void winograd_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                       const ConvShape& s);

}  // namespace mx::kernels
