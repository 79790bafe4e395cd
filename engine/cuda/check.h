// CHECK_CUDA: run a CUDA runtime call and throw mx::Error naming the statement, file:line and device.
#pragma once
#include <cuda_runtime.h>

#include "engine/error.h"

namespace mx::cuda {
inline int current_device_or_minus_one() {
  int d = -1;
  return cudaGetDevice(&d) == cudaSuccess ? d : -1;
}
}  // namespace mx::cuda

#define CHECK_CUDA(stmt)                                                                          \
  do {                                                                                            \
    cudaError_t mx_err_ = (stmt);                                                                 \
    if (mx_err_ != cudaSuccess)                                                                   \
      MX_FAIL(#stmt, " failed at ", __FILE__, ":", __LINE__, " on cuda:",                        \
              ::mx::cuda::current_device_or_minus_one(), ": ", cudaGetErrorString(mx_err_));     \
  } while (0)
