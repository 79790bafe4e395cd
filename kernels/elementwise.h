// Elementwise kernels: ReLU forward/backward, addition and in-place accumulation (launcher API).
#pragma once
#include <cstdint>

namespace mx::kernels::cpu {
void relu_forward(float* y, const float* x, int64_t n);
void relu_backward(float* dx, const float* dy, const float* y, int64_t n);  // dx = dy * (y > 0)
void add_forward(float* z, const float* a, const float* b, int64_t n);
void add_inplace(float* dst, const float* src, int64_t n);  // dst += src
void scale_inplace(float* dst, float s, int64_t n);          // dst *= s
}  // namespace mx::kernels::cpu

// The CUDA launchers (kernels/elementwise.cu): the same signatures with device pointers, queued on the
// compute stream (engine/cuda/stream.h).
namespace mx::kernels::cuda {
void relu_forward(float* y, const float* x, int64_t n);
void relu_backward(float* dx, const float* dy, const float* y, int64_t n);
void add_forward(float* z, const float* a, const float* b, int64_t n);
void add_inplace(float* dst, const float* src, int64_t n);
void scale_inplace(float* dst, float s, int64_t n);
}  // namespace mx::kernels::cuda
