// Linear layers on the GPU through cuBLAS (engine/cuda/linear_cuda.cu): the signatures of
// engine/cpu/linear_cpu.h with device pointers, queued on the compute stream.
#pragma once
#include <cstdint>

namespace mx::cuda {

// x [n, in], weight [out, in], bias [out] or null, y [n, out].
void linear_forward(float* y, const float* x, const float* weight, const float* bias, int64_t n, int64_t in,
                    int64_t out);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
void linear_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, int64_t n, int64_t in, int64_t out);

}  // namespace mx::cuda
