// CUDA instance norm: one block per plane, so every plane's sums run in the block's fixed order and a
// run repeats bit for bit. The forward block sums x and x^2 (in double, as the CPU twin), derives the
// plane's statistics and normalises it; the backward block sums dy and dy * (x - mean), writes the
// plane's dx and keeps its sums for the affine gradients, which one thread per channel then adds image
// by image. Large planes get larger blocks.
#include "engine/cuda/workspace.h"
#include "kernels/instance_norm.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

// Threads per plane: enough loads in flight for the 64K-value planes of a 256x256 generator.
int plane_threads(int64_t hw) { return hw >= 16384 ? 1024 : kThreads; }

__global__ void instance_norm_forward_kernel(float* y, float* save_mean, float* save_invstd, const float* x,
                                             const float* gamma, const float* beta, int64_t c, int64_t hw,
                                             float eps) {
  const int64_t p = blockIdx.x;
  const float* xp = x + p * hw;
  double sum = 0, sum_sq = 0;
  for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) {
    const double v = xp[j];
    sum += v;
    sum_sq += v * v;
  }
  sum = block_sum(sum);
  sum_sq = block_sum(sum_sq);
  const double mean = sum / static_cast<double>(hw);
  const double var = fmax(sum_sq / static_cast<double>(hw) - mean * mean, 0.0);
  const float invstd = static_cast<float>(1.0 / sqrt(var + eps));
  if (threadIdx.x == 0) {
    save_mean[p] = static_cast<float>(mean);
    save_invstd[p] = invstd;
  }
  const int64_t ch = p % c;
  const float scale = (gamma ? gamma[ch] : 1.f) * invstd;
  const float shift = (beta ? beta[ch] : 0.f) - static_cast<float>(mean) * scale;
  float* yp = y + p * hw;
  for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) yp[j] = xp[j] * scale + shift;
}

// The sums of one plane's backward: dy and dy * (x - mean).
struct PlaneSums {
  double dy, dy_xc;
};

__global__ void instance_norm_backward_kernel(float* dx, PlaneSums* sums, const float* dy, const float* x,
                                              const float* gamma, const float* save_mean, const float* save_invstd,
                                              int64_t c, int64_t hw) {
  const int64_t p = blockIdx.x;
  const float *xp = x + p * hw, *gp = dy + p * hw;
  const float mean = save_mean[p], invstd = save_invstd[p];
  double s = 0, sx = 0;
  for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) {
    s += gp[j];
    sx += static_cast<double>(gp[j]) * (xp[j] - mean);
  }
  s = block_sum(s);
  sx = block_sum(sx);
  if (threadIdx.x == 0) sums[p] = {s, sx};
  if (!dx) return;
  const double count = static_cast<double>(hw);
  const float k = (gamma ? gamma[p % c] : 1.f) * invstd;  // the CPU twin's coefficients
  const float mean_dy = static_cast<float>(s / count);
  const float proj = static_cast<float>(sx / count) * invstd * invstd;
  const float a = -k * proj, b = k * (proj * mean - mean_dy);
  float* dp = dx + p * hw;
  for (int64_t j = threadIdx.x; j < hw; j += blockDim.x) dp[j] = k * gp[j] + a * xp[j] + b;
}

// dgamma and dbeta of channel ch: its planes' sums added image by image.
struct AffineGradients {
  float *dgamma, *dbeta;
  const PlaneSums* sums;
  const float* save_invstd;
  int64_t n, c;
  __device__ void operator()(int64_t ch) const {
    double g = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      g += sums[i * c + ch].dy_xc * save_invstd[i * c + ch];
      b += sums[i * c + ch].dy;
    }
    if (dgamma) dgamma[ch] = static_cast<float>(g);
    if (dbeta) dbeta[ch] = static_cast<float>(b);
  }
};

}  // namespace

template <>
void instance_norm_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, const float* x,
                                         const float* gamma, const float* beta, int64_t n, int64_t c, int64_t hw,
                                         float eps) {
  if (n * c <= 0 || hw <= 0) return;
  instance_norm_forward_kernel<<<static_cast<unsigned>(n * c), plane_threads(hw), 0, cuda::current_stream()>>>(
      y, save_mean, save_invstd, x, gamma, beta, c, hw, eps);
  MX_CHECK_LAUNCH("instance_norm_forward");
}

template <>
void instance_norm_backward<Device::CUDA>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                          const float* gamma, const float* save_mean, const float* save_invstd,
                                          int64_t n, int64_t c, int64_t hw) {
  if (n * c <= 0 || hw <= 0) return;
  cuda::Workspace scratch(static_cast<size_t>(n * c) * sizeof(PlaneSums));
  auto* sums = static_cast<PlaneSums*>(scratch.get());
  instance_norm_backward_kernel<<<static_cast<unsigned>(n * c), plane_threads(hw), 0, cuda::current_stream()>>>(
      dx, sums, dy, x, gamma, save_mean, save_invstd, c, hw);
  MX_CHECK_LAUNCH("instance_norm_backward");
  if (dgamma || dbeta)
    for_each_index(c, AffineGradients{dgamma, dbeta, sums, save_invstd, n, c}, "instance_norm_backward (affine)");
}

}  // namespace mx::kernels
