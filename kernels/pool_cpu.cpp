// CPU twins of the pooling kernels: one plane per OpenMP iteration, windows clipped to the image.
#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mx::kernels::cpu {

namespace {

// The input rows (or columns) [begin, end) covered by output index o.
struct Span {
  int64_t begin, end;
};
inline Span window(int64_t o, int64_t size, int kernel, int stride, int padding) {
  int64_t start = o * stride - padding;
  return {std::max<int64_t>(start, 0), std::min<int64_t>(start + kernel, size)};
}

}  // namespace

void max_pool2d_forward(float* y, int32_t* argmax, const float* x, int64_t planes, int64_t h, int64_t w,
                        int64_t oh, int64_t ow, int kernel, int stride, int padding) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * h * w;
    for (int64_t i = 0; i < oh; ++i) {
      Span rows = window(i, h, kernel, stride, padding);
      for (int64_t j = 0; j < ow; ++j) {
        Span cols = window(j, w, kernel, stride, padding);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_at = rows.begin * w + cols.begin;
        for (int64_t r = rows.begin; r < rows.end; ++r)
          for (int64_t s = cols.begin; s < cols.end; ++s) {
            float v = xp[r * w + s];
            if (v > best || (std::isnan(v) && !std::isnan(best))) {  // NaN wins, as in PyTorch
              best = v;
              best_at = r * w + s;
            }
          }
        int64_t out = (p * oh + i) * ow + j;
        y[out] = best;
        if (argmax) argmax[out] = static_cast<int32_t>(best_at);
      }
    }
  }
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int64_t h,
                         int64_t w, int64_t oh, int64_t ow) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* dp = dx + p * h * w;
    std::fill(dp, dp + h * w, 0.f);
    for (int64_t o = p * oh * ow; o < (p + 1) * oh * ow; ++o) dp[argmax[o]] += dy[o];
  }
}

void avg_pool2d_forward(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                        int64_t ow, int kernel, int stride, int padding) {
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * h * w;
    for (int64_t i = 0; i < oh; ++i) {
      Span rows = window(i, h, kernel, stride, padding);
      for (int64_t j = 0; j < ow; ++j) {
        Span cols = window(j, w, kernel, stride, padding);
        float sum = 0.f;
        for (int64_t r = rows.begin; r < rows.end; ++r)
          for (int64_t s = cols.begin; s < cols.end; ++s) sum += xp[r * w + s];
        y[(p * oh + i) * ow + j] = sum * inv_area;
      }
    }
  }
}

void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, int kernel, int stride, int padding) {
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* dp = dx + p * h * w;
    std::fill(dp, dp + h * w, 0.f);
    for (int64_t i = 0; i < oh; ++i) {
      Span rows = window(i, h, kernel, stride, padding);
      for (int64_t j = 0; j < ow; ++j) {
        Span cols = window(j, w, kernel, stride, padding);
        float g = dy[(p * oh + i) * ow + j] * inv_area;
        for (int64_t r = rows.begin; r < rows.end; ++r)
          for (int64_t s = cols.begin; s < cols.end; ++s) dp[r * w + s] += g;
      }
    }
  }
}

void global_avg_pool_forward(float* y, const float* x, int64_t planes, int64_t hw) {
  const float inv = 1.f / static_cast<float>(hw);
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * hw;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < hw; ++j) sum += xp[j];
    y[p] = sum * inv;
  }
}

void global_avg_pool_backward(float* dx, const float* dy, int64_t planes, int64_t hw) {
  const float inv = 1.f / static_cast<float>(hw);
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) std::fill(dx + p * hw, dx + (p + 1) * hw, dy[p] * inv);
}

}  // namespace mx::kernels::cpu
