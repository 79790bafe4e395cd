// CUDA batch metrics: one block, a thread per row, the three sums reduced in double across the block.
#include "kernels/batch_scores.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

__global__ void scores_kernel(float* row, const float* loss, const float* logits, const int32_t* ya,
                              const int32_t* yb, const float* lam, int64_t n, int64_t k) {
  double weighted = 0, x1x2 = 0, x2x1 = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    int32_t t1, t2;
    top2_of_row(logits + i * k, k, t1, t2);
    weighted += lam[i] * (t1 == ya[i]) + (1 - lam[i]) * (t1 == yb[i]);
    x1x2 += t1 == ya[i] && t2 == yb[i];
    x2x1 += t1 == yb[i] && t2 == ya[i];
  }
  weighted = block_sum(weighted);
  x1x2 = block_sum(x1x2);
  x2x1 = block_sum(x2x1);
  if (threadIdx.x == 0) {
    row[0] = loss[0];
    row[1] = static_cast<float>(weighted);
    row[2] = static_cast<float>(x1x2);
    row[3] = static_cast<float>(x2x1);
  }
}

}  // namespace

template <>
void batch_scores<Device::CUDA>(float* row, const float* loss, const float* logits, const int32_t* ya,
                                const int32_t* yb, const float* lam, int64_t n, int64_t k) {
  scores_kernel<<<1, kThreads, 0, ::mx::cuda::current_stream()>>>(row, loss, logits, ya, yb, lam, n, k);
  MX_CHECK_LAUNCH("batch_scores");
}

}  // namespace mx::kernels
