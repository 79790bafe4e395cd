// Linear layer y = x W^T + b on row-major buffers (launcher API).
// Twins (engine/dispatch.h): linear_cpu.cpp (Eigen GEMM) and linear.cu (cuBLAS SGEMM, device pointers,
// compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {

// x [n, in], weight [out, in], bias [out] or null, y [n, out].
template <Device D>
void linear_forward(float* y, const float* x, const float* weight, const float* bias, int64_t n, int64_t in,
                    int64_t out);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
template <Device D>
void linear_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, int64_t n, int64_t in, int64_t out);

}  // namespace mx::kernels
