// CPU twin of the instance-norm kernels: one plane per OpenMP iteration, sums in double; the affine
// gradients then add the planes' sums image by image.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/instance_norm.h"

namespace mx::kernels {

template <>
void instance_norm_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, const float* x,
                                        const float* gamma, const float* beta, int64_t n, int64_t c, int64_t hw,
                                        float eps) {
  const double count = static_cast<double>(hw);
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t p = 0; p < n * c; ++p) {
    const float* xp = x + p * hw;
    double sum = 0, sum_sq = 0;
#pragma omp simd reduction(+ : sum, sum_sq)
    for (int64_t j = 0; j < hw; ++j) {
      const double v = xp[j];
      sum += v;
      sum_sq += v * v;
    }
    const double mean = sum / count, var = std::max(sum_sq / count - mean * mean, 0.0);
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    save_mean[p] = static_cast<float>(mean);
    save_invstd[p] = invstd;
    const int64_t ch = p % c;
    const float scale = (gamma ? gamma[ch] : 1.f) * invstd;
    const float shift = (beta ? beta[ch] : 0.f) - static_cast<float>(mean) * scale;
    float* yp = y + p * hw;
#pragma omp simd
    for (int64_t j = 0; j < hw; ++j) yp[j] = xp[j] * scale + shift;
  }
}

template <>
void instance_norm_backward<Device::CPU>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                         const float* gamma, const float* save_mean, const float* save_invstd,
                                         int64_t n, int64_t c, int64_t hw) {
  const int64_t planes = n * c;
  const double count = static_cast<double>(hw);
  std::vector<double> sum_dy(static_cast<size_t>(planes)), sum_dy_xc(static_cast<size_t>(planes));
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    const float mean = save_mean[p], invstd = save_invstd[p];
    const float *xp = x + p * hw, *gp = dy + p * hw;
    double s = 0, sx = 0;  // sum dy and sum dy * (x - mean)
#pragma omp simd reduction(+ : s, sx)
    for (int64_t j = 0; j < hw; ++j) {
      s += gp[j];
      sx += static_cast<double>(gp[j]) * (xp[j] - mean);
    }
    sum_dy[p] = s;
    sum_dy_xc[p] = sx;
    if (!dx) continue;
    // dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), k = gamma * invstd, written as k * dy + a * x + b.
    const float k = (gamma ? gamma[p % c] : 1.f) * invstd;
    const float mean_dy = static_cast<float>(s / count);
    const float proj = static_cast<float>(sx / count) * invstd * invstd;
    const float a = -k * proj, b = k * (proj * mean - mean_dy);
    float* dp = dx + p * hw;
#pragma omp simd
    for (int64_t j = 0; j < hw; ++j) dp[j] = k * gp[j] + a * xp[j] + b;
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    double g = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      g += sum_dy_xc[i * c + ch] * save_invstd[i * c + ch];
      b += sum_dy[i * c + ch];
    }
    if (dgamma) dgamma[ch] = static_cast<float>(g);
    if (dbeta) dbeta[ch] = static_cast<float>(b);
  }
}

}  // namespace mx::kernels
