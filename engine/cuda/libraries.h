// The cuDNN and cuBLAS handles of this process: created on first use, bound to the compute stream,
// FP32 arithmetic (cuDNN restricted to FMA kernels and cuBLAS in its default math mode, so neither
// rounds operands to TF32).
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

namespace mx::cuda {

cudnnHandle_t cudnn_handle();
cublasHandle_t cublas_handle();

}  // namespace mx::cuda
