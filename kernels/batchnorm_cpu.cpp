// CPU twin of the batch-norm kernels: one channel per OpenMP iteration, sums in double.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <cmath>

namespace mx::kernels {

namespace {

// y = x * scale + shift over the n planes of channel ch.
void affine_channel(float* y, const float* x, float scale, float shift, int64_t n, int64_t c, int64_t hw,
                    int64_t ch) {
  for (int64_t i = 0; i < n; ++i) {
    const float* xp = x + (i * c + ch) * hw;
    float* yp = y + (i * c + ch) * hw;
#pragma omp simd
    for (int64_t j = 0; j < hw; ++j) yp[j] = xp[j] * scale + shift;
  }
}

}  // namespace

template <>
void batch_norm_train_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                           float* running_var, const float* x, const float* gamma, const float* beta,
                                           int64_t n, int64_t c, int64_t hw, float momentum, float eps) {
  const double count = static_cast<double>(n * hw);
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* xp = x + (i * c + ch) * hw;
#pragma omp simd reduction(+ : sum, sum_sq)
      for (int64_t j = 0; j < hw; ++j) {
        double v = xp[j];
        sum += v;
        sum_sq += v * v;
      }
    }
    double mean = sum / count;
    double var = std::max(sum_sq / count - mean * mean, 0.0);
    float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    save_mean[ch] = static_cast<float>(mean);
    save_invstd[ch] = invstd;
    running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
    running_var[ch] =
        static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * var * count / (count - 1.0));
    float scale = gamma[ch] * invstd;
    affine_channel(y, x, scale, beta[ch] - static_cast<float>(mean) * scale, n, c, hw, ch);
  }
}

template <>
void batch_norm_eval_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, const float* x,
                                          const float* gamma, const float* beta, const float* running_mean,
                                          const float* running_var, int64_t n, int64_t c, int64_t hw, float eps) {
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t ch = 0; ch < c; ++ch) {
    float invstd = 1.f / std::sqrt(running_var[ch] + eps);
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = invstd;
    float scale = gamma[ch] * invstd;
    affine_channel(y, x, scale, beta[ch] - running_mean[ch] * scale, n, c, hw, ch);
  }
}

template <>
void batch_norm_backward<Device::CPU>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                      int64_t c, int64_t hw, bool training) {
  const double count = static_cast<double>(n * hw);
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    double sum_dy = 0, sum_dy_xc = 0;  // sum dy and sum dy * (x - mean)
    for (int64_t i = 0; i < n; ++i) {
      const float* xp = x + (i * c + ch) * hw;
      const float* gp = dy + (i * c + ch) * hw;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xc)
      for (int64_t j = 0; j < hw; ++j) {
        sum_dy += gp[j];
        sum_dy_xc += static_cast<double>(gp[j]) * (xp[j] - mean);
      }
    }
    dgamma[ch] = static_cast<float>(sum_dy_xc * invstd);
    dbeta[ch] = static_cast<float>(sum_dy);
    if (!dx) continue;
    // dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * invstd;
    // written as dx = k * dy + a * x + b.
    const float k = gamma[ch] * invstd;
    const float mean_dy = training ? static_cast<float>(sum_dy / count) : 0.f;
    const float proj = training ? static_cast<float>(sum_dy_xc / count) * invstd * invstd : 0.f;
    const float a = -k * proj;
    const float b = k * (proj * mean - mean_dy);
    for (int64_t i = 0; i < n; ++i) {
      const float* xp = x + (i * c + ch) * hw;
      const float* gp = dy + (i * c + ch) * hw;
      float* dp = dx + (i * c + ch) * hw;
#pragma omp simd
      for (int64_t j = 0; j < hw; ++j) dp[j] = k * gp[j] + a * xp[j] + b;
    }
  }
}

}  // namespace mx::kernels
