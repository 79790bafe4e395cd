// CUDA batch norm: one block per channel. The block sums the channel's n*hw values in double (as the
// CPU twin does), derives the per-channel coefficients with the CPU twin's formulas, and then applies
// them to the same values, which the second pass mostly finds in L2.
#include "kernels/batchnorm.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

constexpr int kChannelThreads = 512;

// Walks the n*hw values of one channel of an NCHW tensor, starting at value `start` and advancing by
// `step` values, without a division per step. index(ch) is the offset of the current value.
struct ChannelWalk {
  int64_t i, j;  // image and position in the plane
  int64_t di, dj, hw, c;
  __device__ ChannelWalk(int64_t start, int64_t step, int64_t hw_, int64_t c_)
      : i(start / hw_), j(start % hw_), di(step / hw_), dj(step % hw_), hw(hw_), c(c_) {}
  __device__ void next() {
    i += di;
    j += dj;
    if (j >= hw) {
      j -= hw;
      ++i;
    }
  }
  __device__ int64_t index(int64_t ch) const { return (i * c + ch) * hw + j; }
};

__device__ ChannelWalk walk_of_thread(int64_t hw, int64_t c) { return ChannelWalk(threadIdx.x, blockDim.x, hw, c); }

// y = x * scale + shift over the channel.
__device__ void affine_channel(float* y, const float* x, float scale, float shift, int64_t n, int64_t c,
                               int64_t hw, int64_t ch) {
  for (ChannelWalk p = walk_of_thread(hw, c); p.i < n; p.next()) {
    const int64_t k = p.index(ch);
    y[k] = x[k] * scale + shift;
  }
}

__global__ void train_forward_kernel(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                     float* running_var, const float* x, const float* gamma, const float* beta,
                                     int64_t n, int64_t c, int64_t hw, float momentum, float eps) {
  const int64_t ch = blockIdx.x;
  double sum = 0, sum_sq = 0;
  for (ChannelWalk p = walk_of_thread(hw, c); p.i < n; p.next()) {
    const double v = x[p.index(ch)];
    sum += v;
    sum_sq += v * v;
  }
  sum = block_sum(sum);
  sum_sq = block_sum(sum_sq);
  const double count = static_cast<double>(n * hw);
  const double mean = sum / count;
  const double var = fmax(sum_sq / count - mean * mean, 0.0);
  const float invstd = static_cast<float>(1.0 / sqrt(var + eps));
  if (threadIdx.x == 0) {
    save_mean[ch] = static_cast<float>(mean);
    save_invstd[ch] = invstd;
    running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
    running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * var * count / (count - 1.0));
  }
  const float scale = gamma[ch] * invstd;
  affine_channel(y, x, scale, beta[ch] - static_cast<float>(mean) * scale, n, c, hw, ch);
}

__global__ void eval_forward_kernel(float* y, float* save_mean, float* save_invstd, const float* x,
                                    const float* gamma, const float* beta, const float* running_mean,
                                    const float* running_var, int64_t n, int64_t c, int64_t hw, float eps) {
  const int64_t ch = blockIdx.x;
  const float invstd = 1.f / sqrtf(running_var[ch] + eps);
  if (threadIdx.x == 0) {
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = invstd;
  }
  const float scale = gamma[ch] * invstd;
  affine_channel(y, x, scale, beta[ch] - running_mean[ch] * scale, n, c, hw, ch);
}

__global__ void backward_kernel(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                int64_t c, int64_t hw, bool training) {
  const int64_t ch = blockIdx.x;
  const float mean = save_mean[ch], invstd = save_invstd[ch];
  double sum_dy = 0, sum_dy_xc = 0;  // sum dy and sum dy * (x - mean)
  for (ChannelWalk p = walk_of_thread(hw, c); p.i < n; p.next()) {
    const int64_t k = p.index(ch);
    sum_dy += dy[k];
    sum_dy_xc += static_cast<double>(dy[k]) * (x[k] - mean);
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xc = block_sum(sum_dy_xc);
  if (threadIdx.x == 0) {
    dgamma[ch] = static_cast<float>(sum_dy_xc * invstd);
    dbeta[ch] = static_cast<float>(sum_dy);
  }
  if (!dx) return;
  // dx = k * dy + a * x + b, the CPU twin's form of gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
  const double count = static_cast<double>(n * hw);
  const float k = gamma[ch] * invstd;
  const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.f;
  const float proj = training ? static_cast<float>(sum_dy_xc / count) * invstd * invstd : 0.f;
  const float a = -k * proj;
  const float b = k * (proj * mean - mean_dy);
  for (ChannelWalk p = walk_of_thread(hw, c); p.i < n; p.next()) {
    const int64_t i = p.index(ch);
    dx[i] = k * dy[i] + a * x[i] + b;
  }
}

}  // namespace

template <>
void batch_norm_train_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                            float* running_var, const float* x, const float* gamma, const float* beta,
                                            int64_t n, int64_t c, int64_t hw, float momentum, float eps) {
  if (c <= 0 || n * hw <= 0) return;
  train_forward_kernel<<<static_cast<unsigned>(c), kChannelThreads, 0, ::mx::cuda::current_stream()>>>(
      y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta, n, c, hw, momentum, eps);
  MX_CHECK_LAUNCH("batch_norm_train_forward");
}

template <>
void batch_norm_eval_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, const float* x,
                                           const float* gamma, const float* beta, const float* running_mean,
                                           const float* running_var, int64_t n, int64_t c, int64_t hw, float eps) {
  if (c <= 0 || n * hw <= 0) return;
  eval_forward_kernel<<<static_cast<unsigned>(c), kThreads, 0, ::mx::cuda::current_stream()>>>(
      y, save_mean, save_invstd, x, gamma, beta, running_mean, running_var, n, c, hw, eps);
  MX_CHECK_LAUNCH("batch_norm_eval_forward");
}

template <>
void batch_norm_backward<Device::CUDA>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                       const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                       int64_t c, int64_t hw, bool training) {
  if (c <= 0 || n * hw <= 0) return;
  backward_kernel<<<static_cast<unsigned>(c), kChannelThreads, 0, ::mx::cuda::current_stream()>>>(
      dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd, n, c, hw, training);
  MX_CHECK_LAUNCH("batch_norm_backward");
}

}  // namespace mx::kernels
