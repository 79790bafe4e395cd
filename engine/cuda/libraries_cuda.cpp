// cuDNN and cuBLAS handles, one each per process, never destroyed (the runtime may be gone at exit).
#include "engine/cuda/libraries.h"

#include "engine/cuda/check.h"
#include "engine/cuda/stream.h"

namespace mx::cuda {

cudnnHandle_t cudnn_handle() {
  static cudnnHandle_t handle = [] {
    cudnnHandle_t h = nullptr;
    CHECK_CUDNN(cudnnCreate(&h));
    CHECK_CUDNN(cudnnSetStream(h, current_stream()));
    return h;
  }();
  return handle;
}

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    CHECK_CUBLAS(cublasCreate(&h));
    CHECK_CUBLAS(cublasSetStream(h, current_stream()));
    CHECK_CUBLAS(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));  // FP32 in, FP32 arithmetic: no TF32
    return h;
  }();
  return handle;
}

}  // namespace mx::cuda
