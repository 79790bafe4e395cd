// Channel copy between NCHW tensors (launcher API): the forward of concat_channels copies each input
// into its channel slot of the output, the backward copies the slots back out.
// Twins (engine/dispatch.h): concat_cpu.cpp (host pointers), concat.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
// For every image i < n: dst[i, dst_off + k] = src[i, src_off + k] for k < channels, each channel hw
// floats; dst has dst_c channels per image and src has src_c.
template <Device D>
void copy_channels(float* dst, int64_t dst_c, int64_t dst_off, const float* src, int64_t src_c,
                   int64_t src_off, int64_t n, int64_t channels, int64_t hw);
}  // namespace mx::kernels
