// A per-channel bias of an NCHW tensor on its own (launcher API): the add, y[i, ch, :] += bias[ch], and
// its gradient, dbias[ch] = the sum of dy over images and positions (in double, images in order).
// conv_transpose2d uses them; conv2d's CPU twin takes its bias gradient from here too.
// Twins (engine/dispatch.h): channel_bias_cpu.cpp (host pointers), channel_bias.cu (device pointers,
// compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void channel_bias_forward(float* y, const float* bias, int64_t n, int64_t c, int64_t hw);  // in place
template <Device D>
void channel_bias_backward(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw);  // overwritten
}  // namespace mx::kernels
