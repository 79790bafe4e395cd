// Checks for CUDA, cuDNN and cuBLAS calls and for kernel launches: a failure throws a one-line
// mx::Error naming the statement (or op), file:line and device.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/error.h"

namespace mx::cuda {

inline int current_device_or_minus_one() {
  int d = -1;
  return cudaGetDevice(&d) == cudaSuccess ? d : -1;
}

// Called after every launch and library call on the compute stream: throws when the launch failed.
// With MIXUP_SYNC=1 in the environment it also waits for the stream, so a fault inside the op is
// reported here, under the op's name, instead of at some later call.
void check_launch(const char* op, const char* file, int line);

}  // namespace mx::cuda

#define MX_CHECK_STATUS(stmt, type, ok, describe)                                                  \
  do {                                                                                            \
    type mx_status_ = (stmt);                                                                     \
    if (mx_status_ != (ok))                                                                       \
      MX_FAIL(#stmt, " failed at ", __FILE__, ":", __LINE__, " on cuda:",                        \
              ::mx::cuda::current_device_or_minus_one(), ": ", describe(mx_status_));            \
  } while (0)

#define CHECK_CUDA(stmt) MX_CHECK_STATUS(stmt, cudaError_t, cudaSuccess, cudaGetErrorString)
#define CHECK_CUDNN(stmt) MX_CHECK_STATUS(stmt, cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
#define CHECK_CUBLAS(stmt) MX_CHECK_STATUS(stmt, cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)
#define MX_CHECK_LAUNCH(op) ::mx::cuda::check_launch(op, __FILE__, __LINE__)
