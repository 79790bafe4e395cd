// CPU twins of the pooling kernels: one plane per OpenMP iteration. Output columns whose windows lie
// inside the image ("interior") are processed a window tap at a time across the whole output row,
// which the compiler vectorises; the few columns whose windows reach into the padding are done one
// by one with clipped windows.
#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mx::kernels {

namespace {

// The input rows (or columns) [begin, end) covered by output index o.
struct Span {
  int64_t begin, end;
};
inline Span window(int64_t o, int64_t size, int kernel, int stride, int padding) {
  int64_t start = o * stride - padding;
  return {std::max<int64_t>(start, 0), std::min<int64_t>(start + kernel, size)};
}

// Output columns [begin, end) whose windows need no clipping.
Span interior(int64_t w, int64_t ow, int kernel, int stride, int padding) {
  int64_t begin = std::min<int64_t>(ow, (padding + stride - 1) / stride);
  int64_t end = w + padding >= kernel ? std::min<int64_t>(ow, (w + padding - kernel) / stride + 1) : 0;
  return {begin, std::max(begin, end)};
}

// Max pooling keeps the first maximum; a NaN wins (as in PyTorch) so a diverged net shows it.
inline bool takes(float v, float best) { return v > best || std::isnan(v); }

// One output row of max pooling: rows of the window, the output row y/argmax, the plane xp.
void max_pool_row(float* y, int32_t* argmax, const float* xp, Span rows, int64_t w, int64_t ow, Span inner,
                  int kernel, int stride, int padding) {
  for (Span edge : {Span{0, inner.begin}, Span{inner.end, ow}})
    for (int64_t j = edge.begin; j < edge.end; ++j) {
      Span cols = window(j, w, kernel, stride, padding);
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_at = rows.begin * w + cols.begin;
      for (int64_t r = rows.begin; r < rows.end; ++r)
        for (int64_t s = cols.begin; s < cols.end; ++s)
          if (takes(xp[r * w + s], best)) best = xp[r * w + s], best_at = r * w + s;
      y[j] = best;
      argmax[j] = static_cast<int32_t>(best_at);
    }
  for (int64_t j = inner.begin; j < inner.end; ++j) {
    y[j] = -std::numeric_limits<float>::infinity();
    argmax[j] = static_cast<int32_t>(rows.begin * w + j * stride - padding);
  }
  for (int64_t r = rows.begin; r < rows.end; ++r)
    for (int b = 0; b < kernel; ++b) {
      const int64_t offset = r * w + b - padding;  // input index of tap (r, b) is offset + j * stride
#pragma omp simd
      for (int64_t j = inner.begin; j < inner.end; ++j) {
        float v = xp[offset + j * stride];
        bool take = takes(v, y[j]);
        y[j] = take ? v : y[j];
        argmax[j] = take ? static_cast<int32_t>(offset + j * stride) : argmax[j];
      }
    }
}

// One output row of average pooling (divisor kernel * kernel).
void avg_pool_row(float* y, const float* xp, Span rows, int64_t w, int64_t ow, Span inner, int kernel,
                  int stride, int padding) {
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (Span edge : {Span{0, inner.begin}, Span{inner.end, ow}})
    for (int64_t j = edge.begin; j < edge.end; ++j) {
      Span cols = window(j, w, kernel, stride, padding);
      float sum = 0.f;
      for (int64_t r = rows.begin; r < rows.end; ++r)
        for (int64_t s = cols.begin; s < cols.end; ++s) sum += xp[r * w + s];
      y[j] = sum * inv_area;
    }
  std::fill(y + inner.begin, y + inner.end, 0.f);
  for (int64_t r = rows.begin; r < rows.end; ++r)
    for (int b = 0; b < kernel; ++b) {
      const float* tap = xp + r * w + b - padding;
#pragma omp simd
      for (int64_t j = inner.begin; j < inner.end; ++j) y[j] += tap[j * stride];
    }
  for (int64_t j = inner.begin; j < inner.end; ++j) y[j] *= inv_area;
}

// Gradient of one output row of average pooling, added into the plane dp.
void avg_pool_row_backward(float* dp, const float* dy, Span rows, int64_t w, int64_t ow, int kernel, int stride,
                           int padding) {
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (int64_t j = 0; j < ow; ++j) {
    Span cols = window(j, w, kernel, stride, padding);
    const float g = dy[j] * inv_area;
    for (int64_t r = rows.begin; r < rows.end; ++r)
      for (int64_t s = cols.begin; s < cols.end; ++s) dp[r * w + s] += g;
  }
}

// Without padding every window lies inside the plane, so a whole plane is done a tap at a time over
// all its outputs: corner[o] is the input index of output o's top-left tap.
std::vector<int32_t> window_corners(int64_t w, int64_t oh, int64_t ow, int stride) {
  std::vector<int32_t> corner(static_cast<size_t>(oh * ow));
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) corner[i * ow + j] = static_cast<int32_t>(i * stride * w + j * stride);
  return corner;
}

void max_pool_plane_unpadded(float* y, int32_t* argmax, const float* xp, const int32_t* corner, int64_t outs,
                             int64_t w, int kernel) {
  for (int64_t o = 0; o < outs; ++o) {
    y[o] = -std::numeric_limits<float>::infinity();
    argmax[o] = corner[o];
  }
  for (int a = 0; a < kernel; ++a)
    for (int b = 0; b < kernel; ++b) {
      const int32_t tap = static_cast<int32_t>(a * w + b);
#pragma omp simd
      for (int64_t o = 0; o < outs; ++o) {
        float v = xp[corner[o] + tap];
        bool take = takes(v, y[o]);
        y[o] = take ? v : y[o];
        argmax[o] = take ? corner[o] + tap : argmax[o];
      }
    }
}

void avg_pool_plane_unpadded(float* y, const float* xp, const int32_t* corner, int64_t outs, int64_t w,
                             int kernel) {
  std::fill(y, y + outs, 0.f);
  for (int a = 0; a < kernel; ++a)
    for (int b = 0; b < kernel; ++b) {
      const int32_t tap = static_cast<int32_t>(a * w + b);
#pragma omp simd
      for (int64_t o = 0; o < outs; ++o) y[o] += xp[corner[o] + tap];
    }
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (int64_t o = 0; o < outs; ++o) y[o] *= inv_area;
}

// dp (zeroed) += each output's gradient / kernel^2 over its window. Within one tap the outputs touch
// distinct inputs, so the scatter has no conflicts.
void avg_pool_plane_unpadded_backward(float* dp, const float* dy, const int32_t* corner, int64_t outs, int64_t w,
                                      int kernel) {
  const float inv_area = 1.f / static_cast<float>(kernel * kernel);
  for (int a = 0; a < kernel; ++a)
    for (int b = 0; b < kernel; ++b) {
      const int32_t tap = static_cast<int32_t>(a * w + b);
#pragma omp simd
      for (int64_t o = 0; o < outs; ++o) dp[corner[o] + tap] += dy[o] * inv_area;
    }
}

}  // namespace

template <>
void max_pool2d_forward<Device::CPU>(float* y, int32_t* argmax, const float* x, int64_t planes, int64_t h, int64_t w,
                                     int64_t oh, int64_t ow, int kernel, int stride, int padding) {
  if (padding == 0) {
    const std::vector<int32_t> corner = window_corners(w, oh, ow, stride);
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
    for (int64_t p = 0; p < planes; ++p)
      max_pool_plane_unpadded(y + p * oh * ow, argmax + p * oh * ow, x + p * h * w, corner.data(), oh * ow, w, kernel);
    return;
  }
  const Span inner = interior(w, ow, kernel, stride, padding);
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      max_pool_row(y + (p * oh + i) * ow, argmax + (p * oh + i) * ow, x + p * h * w,
                   window(i, h, kernel, stride, padding), w, ow, inner, kernel, stride, padding);
}

template <>
void max_pool2d_backward<Device::CPU>(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int64_t h,
                                      int64_t w, int64_t oh, int64_t ow) {
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    float* dp = dx + p * h * w;
    std::fill(dp, dp + h * w, 0.f);
    for (int64_t o = p * oh * ow; o < (p + 1) * oh * ow; ++o) dp[argmax[o]] += dy[o];
  }
}

template <>
void avg_pool2d_forward<Device::CPU>(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                     int64_t ow, int kernel, int stride, int padding) {
  if (padding == 0) {
    const std::vector<int32_t> corner = window_corners(w, oh, ow, stride);
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
    for (int64_t p = 0; p < planes; ++p)
      avg_pool_plane_unpadded(y + p * oh * ow, x + p * h * w, corner.data(), oh * ow, w, kernel);
    return;
  }
  const Span inner = interior(w, ow, kernel, stride, padding);
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      avg_pool_row(y + (p * oh + i) * ow, x + p * h * w, window(i, h, kernel, stride, padding), w, ow, inner,
                   kernel, stride, padding);
}

template <>
void avg_pool2d_backward<Device::CPU>(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                      int64_t ow, int kernel, int stride, int padding) {
  const std::vector<int32_t> corner = padding == 0 ? window_corners(w, oh, ow, stride) : std::vector<int32_t>();
#pragma omp parallel for schedule(static) if (planes * h * w > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    float* dp = dx + p * h * w;
    std::fill(dp, dp + h * w, 0.f);
    if (padding == 0) {
      avg_pool_plane_unpadded_backward(dp, dy + p * oh * ow, corner.data(), oh * ow, w, kernel);
      continue;
    }
    for (int64_t i = 0; i < oh; ++i)
      avg_pool_row_backward(dp, dy + (p * oh + i) * ow, window(i, h, kernel, stride, padding), w, ow, kernel,
                            stride, padding);
  }
}

template <>
void global_avg_pool_forward<Device::CPU>(float* y, const float* x, int64_t planes, int64_t hw) {
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

template <>
void global_avg_pool_backward<Device::CPU>(float* dx, const float* dy, int64_t planes, int64_t hw) {
  const float inv = 1.f / static_cast<float>(hw);
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) std::fill(dx + p * hw, dx + (p + 1) * hw, dy[p] * inv);
}

}  // namespace mx::kernels
