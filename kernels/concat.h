// Channel copy between NCHW tensors (launcher API): the forward of concat_channels copies each input
// into its channel slot of the output, the backward copies the slots back out.
#pragma once
#include <cstdint>

namespace mx::kernels::cpu {
// For every image i < n: dst[i, dst_off + k] = src[i, src_off + k] for k < channels, each channel hw
// floats; dst has dst_c channels per image and src has src_c.
void copy_channels(float* dst, int64_t dst_c, int64_t dst_off, const float* src, int64_t src_c,
                   int64_t src_off, int64_t n, int64_t channels, int64_t hw);
}  // namespace mx::kernels::cpu

// The CUDA launchers (kernels/concat.cu): the same signatures with device pointers, queued on the
// compute stream (engine/cuda/stream.h).
namespace mx::kernels::cuda {
void copy_channels(float* dst, int64_t dst_c, int64_t dst_off, const float* src, int64_t src_c,
                   int64_t src_off, int64_t n, int64_t channels, int64_t hw);
}  // namespace mx::kernels::cuda
