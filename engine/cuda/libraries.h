// The cuDNN and cuBLAS handles of this process: created on first use, bound to the compute stream,
// FP32 arithmetic (cuDNN restricted to FMA kernels and cuBLAS in its default math mode, so neither
// rounds operands to TF32).
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include <climits>
#include <cstdint>

#include "engine/error.h"

namespace mx::cuda {

cudnnHandle_t cudnn_handle();
cublasHandle_t cublas_handle();

// The libraries take sizes as int; `op` names the caller in the error.
inline int library_int(int64_t v, const char* op) {
  MX_CHECK(v >= 0 && v <= INT_MAX, op, ": size ", v, " is outside the int range of cuDNN and cuBLAS");
  return static_cast<int>(v);
}

// The scaling factors of "y = 1 * op(x) + 0 * y" (and "+ 1 * y" to accumulate), passed by address.
inline const float kOne = 1.f, kZero = 0.f;

}  // namespace mx::cuda
