// CUDA runtime glue: device discovery that tolerates machines with no GPU or driver, and memory
// from CUDA's stream-ordered pool (cudaMallocAsync) on the default stream.
#include <cuda_runtime.h>

#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"

namespace mx::cuda {

bool built_with_cuda() { return true; }

int device_count() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" / "no device" error
    return 0;
  }
  return n;
}

std::string device_summary() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
  }
  if (n == 0) return "no CUDA device";
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

void* alloc(size_t bytes) {
  void* p = nullptr;
  CHECK_CUDA(cudaMallocAsync(&p, bytes, 0));
  return p;
}

void free(void* ptr) {
  cudaError_t err = cudaFreeAsync(ptr, 0);
  if (err != cudaSuccess) fprintf(stderr, "warning: cudaFreeAsync failed: %s\n", cudaGetErrorString(err));
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                      : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, kind, 0));
  if (!dst_on_device) CHECK_CUDA(cudaStreamSynchronize(0));
}

void memset_zero(void* ptr, size_t bytes) { CHECK_CUDA(cudaMemsetAsync(ptr, 0, bytes, 0)); }

}  // namespace mx::cuda
