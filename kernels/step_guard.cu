// CUDA step guard: each block of a bounded grid sums the squares of its grid-stride share of the
// gradient in double; one block then adds the partial sums in a fixed order and writes the record.
// The partials live in stream-ordered scratch memory, so nothing waits for the host. restore_flagged
// reads the flag on the device, so it does not either.
#include "engine/cuda/workspace.h"
#include "kernels/launch.cuh"
#include "kernels/step_guard.h"

namespace mx::kernels {

namespace {

constexpr unsigned kMaxBlocks = 1024;

__global__ void square_sums_kernel(double* partials, const float* g, int64_t n) {
  double sum = 0;
  for (int64_t i = thread_index(); i < n; i += grid_stride()) sum += static_cast<double>(g[i]) * g[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

__global__ void guard_record_kernel(float* rec, const double* partials, unsigned blocks, const float* loss,
                                    bool loss_decides) {
  double sum = 0;
  for (unsigned b = threadIdx.x; b < blocks; b += blockDim.x) sum += partials[b];
  sum = block_sum(sum);
  if (threadIdx.x == 0) write_guard_record(rec, sum, *loss, loss_decides);
}

struct RestoreFlagged {
  float* dst;
  const float* saved;
  const float* flag;
  __device__ void operator()(int64_t i) const {
    if (*flag != 0.f) dst[i] = saved[i];
  }
};

}  // namespace

template <>
void step_guard<Device::CUDA>(float* rec, const float* g, int64_t n, const float* loss, bool loss_decides) {
  const unsigned blocks = std::min(grid_for(n), kMaxBlocks);
  ::mx::cuda::Workspace scratch(blocks * sizeof(double));
  auto* partials = static_cast<double*>(scratch.get());
  cudaStream_t stream = ::mx::cuda::current_stream();
  square_sums_kernel<<<blocks, kThreads, 0, stream>>>(partials, g, n);
  MX_CHECK_LAUNCH("step_guard (square sums)");
  guard_record_kernel<<<1, kThreads, 0, stream>>>(rec, partials, blocks, loss, loss_decides);
  MX_CHECK_LAUNCH("step_guard (record)");
}

template <>
void restore_flagged<Device::CUDA>(float* dst, const float* saved, int64_t n, const float* flag) {
  for_each_index(n, RestoreFlagged{dst, saved, flag}, "restore_flagged");
}

}  // namespace mx::kernels
