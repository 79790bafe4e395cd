// cuDNN and cuBLAS handles, one each per process, never destroyed (the runtime may be gone at exit).
// Creating the cuDNN handle says on stderr which cuDNN was loaded, and warns when it is not the one
// whose headers the build used.
#include "engine/cuda/libraries.h"

#include <cstdio>
#include <string>

#include "engine/cuda/check.h"
#include "engine/cuda/stream.h"

namespace mx::cuda {

namespace {

// "9.19.0" for cuDNN 9's version number 91900.
std::string cudnn_version_string(size_t v) {
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

void report_cudnn_version() {
  const size_t loaded = cudnnGetVersion();
  const std::string got = cudnn_version_string(loaded), want = cudnn_version_string(CUDNN_VERSION);
  if (loaded == CUDNN_VERSION)
    std::fprintf(stderr, "cuDNN %s loaded (the version of the headers built against)\n", got.c_str());
  else
    std::fprintf(stderr, "warning: cuDNN %s loaded, but built against the headers of cuDNN %s; "
                 "point CUDNN_ROOT and LD_LIBRARY_PATH at the same cuDNN\n", got.c_str(), want.c_str());
}

}  // namespace

cudnnHandle_t cudnn_handle() {
  static cudnnHandle_t handle = [] {
    report_cudnn_version();
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
