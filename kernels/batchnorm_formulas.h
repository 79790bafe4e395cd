// The per-channel formulas of batch norm, written once for both twins (batchnorm_cpu.cpp and
// batchnorm.cu): the terms each value adds to the channel's two sums, the statistics and running
// estimates derived from the forward sums, and the gradients derived from the backward sums. The sums
// are in double, as both twins accumulate them; a [2c] buffer of them holds the first sum of every
// channel, then the second.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace mx::kernels::bn {

// The two sums of a channel: Σx and Σx² in the forward, Σdy and Σdy·(x − mean) in the backward.
struct Sums {
  double a, b;
};

MX_HD inline Sums load_sums(const double* sums, int64_t c, int64_t ch) { return {sums[ch], sums[c + ch]}; }
MX_HD inline void store_sums(double* sums, int64_t c, int64_t ch, Sums s) {
  sums[ch] = s.a;
  sums[c + ch] = s.b;
}

// What one value adds to the forward sums and to the backward sums.
MX_HD inline Sums moments(float x) {
  const double v = x;
  return {v, v * v};
}
MX_HD inline Sums gradient_moments(float dy, float x, float mean) {
  return {dy, static_cast<double>(dy) * (x - mean)};
}

// y = x * scale + shift, with scale = gamma * invstd and shift = beta - mean * scale.
struct Affine {
  float scale, shift;
  MX_HD float operator()(float x) const { return x * scale + shift; }
};
MX_HD inline Affine affine(float gamma, float beta, float mean, float invstd) {
  const float scale = gamma * invstd;
  return {scale, beta - mean * scale};
}

// The training statistics of a channel from its forward sums over `count` values: the batch mean and
// 1/sqrt(var + eps) with the biased variance, and the running estimates moved towards the batch mean
// and the unbiased variance.
struct TrainStatistics {
  float mean, invstd, running_mean, running_var;
};
MX_HD inline TrainStatistics train_statistics(Sums s, double count, float running_mean, float running_var,
                                              float momentum, float eps) {
  const double mean = s.a / count;
  const double spread = s.b / count - mean * mean;
  const double var = spread < 0.0 ? 0.0 : spread;  // rounding can make it negative; a NaN stays
  return {static_cast<float>(mean), static_cast<float>(1.0 / sqrt(var + eps)),
          static_cast<float>((1.0 - momentum) * running_mean + momentum * mean),
          static_cast<float>((1.0 - momentum) * running_var + momentum * var * count / (count - 1.0))};
}

// Evaluation's 1/sqrt(var + eps) of the running variance.
MX_HD inline float eval_invstd(float running_var, float eps) { return 1.f / sqrtf(running_var + eps); }

// The parameter gradients of a channel from its backward sums: dgamma = Σdy·xhat, dbeta = Σdy.
MX_HD inline float dgamma(Sums s, float invstd) { return static_cast<float>(s.b * invstd); }
MX_HD inline float dbeta(Sums s) { return static_cast<float>(s.a); }

// dx = k * dy + a * x + b: gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
// xhat = (x - mean) * invstd, the means over the `count` values of the backward sums. In evaluation
// the statistics do not depend on x and dx = gamma * invstd * dy.
struct InputGradient {
  float k, a, b;
  MX_HD float operator()(float dy, float x) const { return k * dy + a * x + b; }
};
MX_HD inline InputGradient input_gradient(Sums s, double count, float gamma, float mean, float invstd,
                                          bool training) {
  const float k = gamma * invstd;
  const float mean_dy = training ? static_cast<float>(s.a / count) : 0.f;
  const float proj = training ? static_cast<float>(s.b / count) * invstd * invstd : 0.f;
  return {k, -k * proj, k * (proj * mean - mean_dy)};
}

}  // namespace mx::kernels::bn
