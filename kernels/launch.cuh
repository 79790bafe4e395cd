// Shared by the CUDA launchers: launch geometry, a grid-stride "for each index" launch, and warp and
// block sums. Every launch goes on the compute stream and is checked with the op's name.
#pragma once
#include <algorithm>
#include <cstdint>

#include "engine/cuda/check.h"
#include "engine/cuda/stream.h"

namespace mx::kernels {

constexpr int kThreads = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// Blocks for `work` items at `threads` each, at most 65535: the kernels stride over the rest.
inline unsigned grid_for(int64_t work, int threads = kThreads) {
  return static_cast<unsigned>(std::clamp<int64_t>((work + threads - 1) / threads, 1, 65535));
}

__device__ inline int64_t thread_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

template <typename Op>
__global__ void for_each_index_kernel(int64_t n, Op op) {
  for (int64_t i = thread_index(); i < n; i += grid_stride()) op(i);
}

// Calls op(i) on the device for every i in [0, n): op is a small struct with a __device__ call operator.
template <typename Op>
void for_each_index(int64_t n, const Op& op, const char* name) {
  if (n <= 0) return;
  for_each_index_kernel<<<grid_for(n), kThreads, 0, ::mx::cuda::current_stream()>>>(n, op);
  MX_CHECK_LAUNCH(name);
}

// Butterfly reductions: every lane of the warp gets the result.
template <typename T>
__device__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result. All
// threads of the block must call it.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : T(0);
  v = warp_sum(v);
  __syncthreads();  // partial may be reused by the next call
  return v;
}

}  // namespace mx::kernels
