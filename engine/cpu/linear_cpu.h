// CPU linear layer: y = x W^T + b with Eigen GEMM on row-major maps (cuBLAS's job on GPU).
#pragma once
#include <cstdint>

namespace mx::cpu {

// x [n, in], weight [out, in], bias [out] or null, y [n, out].
void linear_forward(float* y, const float* x, const float* weight, const float* bias, int64_t n, int64_t in,
                    int64_t out);
// Each of dx, dweight, dbias may be null when not wanted; the others are overwritten.
void linear_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                     const float* weight, int64_t n, int64_t in, int64_t out);

}  // namespace mx::cpu
