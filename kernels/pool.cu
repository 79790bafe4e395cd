// CUDA pooling: one thread per output for the forward passes, visiting the window in the CPU twin's
// order (so max pooling picks the same element and average pooling sums in the same order); one
// thread per input for the average-pooling gradient (a gather, written once); atomics only for the
// max-pooling gradient, which windows that overlap can send to one input.
#include <cmath>

#include "kernels/launch.cuh"
#include "kernels/pool.h"

namespace mx::kernels::cuda {

namespace {

// The clipped window of output (i, j): input rows [r0, r1) and columns [c0, c1).
struct Window {
  int64_t r0, r1, c0, c1;
};
__device__ Window window_of(int64_t i, int64_t j, int64_t h, int64_t w, int kernel, int stride, int padding) {
  const int64_t top = i * stride - padding, left = j * stride - padding;
  return {max(top, int64_t{0}), min(top + kernel, h), max(left, int64_t{0}), min(left + kernel, w)};
}

struct MaxPool {
  float* y;
  int32_t* argmax;
  const float* x;
  int64_t h, w, oh, ow;
  int kernel, stride, padding;
  __device__ void operator()(int64_t o) const {
    const int64_t plane = o / (oh * ow), i = o % (oh * ow) / ow, j = o % ow;
    const Window win = window_of(i, j, h, w, kernel, stride, padding);
    const float* xp = x + plane * h * w;
    float best = -INFINITY;
    int64_t best_at = win.r0 * w + win.c0;
    for (int64_t r = win.r0; r < win.r1; ++r)
      for (int64_t s = win.c0; s < win.c1; ++s) {
        const float v = xp[r * w + s];
        if (v > best || isnan(v)) best = v, best_at = r * w + s;  // first maximum; a NaN wins
      }
    y[o] = best;
    argmax[o] = static_cast<int32_t>(best_at);
  }
};

struct MaxPoolBackward {
  float* dx;
  const float* dy;
  const int32_t* argmax;
  int64_t hw, ohw;
  __device__ void operator()(int64_t o) const { atomicAdd(dx + o / ohw * hw + argmax[o], dy[o]); }
};

struct AvgPool {
  float* y;
  const float* x;
  int64_t h, w, oh, ow;
  int kernel, stride, padding;
  __device__ void operator()(int64_t o) const {
    const int64_t plane = o / (oh * ow), i = o % (oh * ow) / ow, j = o % ow;
    const Window win = window_of(i, j, h, w, kernel, stride, padding);
    const float* xp = x + plane * h * w;
    float sum = 0.f;
    for (int64_t r = win.r0; r < win.r1; ++r)
      for (int64_t s = win.c0; s < win.c1; ++s) sum += xp[r * w + s];
    y[o] = sum * (1.f / static_cast<float>(kernel * kernel));
  }
};

// Outputs [first, last] along one axis whose windows cover input coordinate r.
struct Covering {
  int64_t first, last;
};
__device__ Covering covering(int64_t r, int64_t outs, int kernel, int stride, int padding) {
  const int64_t lo = r + padding - kernel + 1;  // smallest window start that still covers r
  return {lo <= 0 ? 0 : (lo + stride - 1) / stride, min((r + padding) / stride, outs - 1)};
}

struct AvgPoolBackward {
  float* dx;
  const float* dy;
  int64_t h, w, oh, ow;
  int kernel, stride, padding;
  __device__ void operator()(int64_t e) const {
    const int64_t plane = e / (h * w), r = e % (h * w) / w, s = e % w;
    const Covering rows = covering(r, oh, kernel, stride, padding), cols = covering(s, ow, kernel, stride, padding);
    const float* g = dy + plane * oh * ow;
    const float inv_area = 1.f / static_cast<float>(kernel * kernel);
    float sum = 0.f;
    for (int64_t i = rows.first; i <= rows.last; ++i)
      for (int64_t j = cols.first; j <= cols.last; ++j) sum += g[i * ow + j] * inv_area;
    dx[e] = sum;
  }
};

// One warp per plane: lanes stride over the plane, then a warp sum.
__global__ void global_avg_pool_kernel(float* y, const float* x, int64_t planes, int64_t hw) {
  const int lane = threadIdx.x % 32;
  const float inv = 1.f / static_cast<float>(hw);
  for (int64_t p = thread_index() / 32; p < planes; p += grid_stride() / 32) {
    float sum = 0.f;
    for (int64_t j = lane; j < hw; j += 32) sum += x[p * hw + j];
    sum = warp_sum(sum);
    if (lane == 0) y[p] = sum * inv;
  }
}

struct GlobalAvgPoolBackward {
  float* dx;
  const float* dy;
  int64_t hw;
  float inv;
  __device__ void operator()(int64_t e) const { dx[e] = dy[e / hw] * inv; }
};

}  // namespace

void max_pool2d_forward(float* y, int32_t* argmax, const float* x, int64_t planes, int64_t h, int64_t w,
                        int64_t oh, int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * oh * ow, MaxPool{y, argmax, x, h, w, oh, ow, kernel, stride, padding}, "max_pool2d_forward");
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int64_t h,
                         int64_t w, int64_t oh, int64_t ow) {
  if (planes * h * w <= 0) return;
  CHECK_CUDA(cudaMemsetAsync(dx, 0, static_cast<size_t>(planes * h * w) * sizeof(float), ::mx::cuda::current_stream()));
  for_each_index(planes * oh * ow, MaxPoolBackward{dx, dy, argmax, h * w, oh * ow}, "max_pool2d_backward");
}

void avg_pool2d_forward(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                        int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * oh * ow, AvgPool{y, x, h, w, oh, ow, kernel, stride, padding}, "avg_pool2d_forward");
}

void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * h * w, AvgPoolBackward{dx, dy, h, w, oh, ow, kernel, stride, padding},
                 "avg_pool2d_backward");
}

void global_avg_pool_forward(float* y, const float* x, int64_t planes, int64_t hw) {
  if (planes <= 0) return;
  global_avg_pool_kernel<<<grid_for(planes * 32), kThreads, 0, ::mx::cuda::current_stream()>>>(y, x, planes, hw);
  MX_CHECK_LAUNCH("global_avg_pool_forward");
}

void global_avg_pool_backward(float* dx, const float* dy, int64_t planes, int64_t hw) {
  for_each_index(planes * hw, GlobalAvgPoolBackward{dx, dy, hw, 1.f / static_cast<float>(hw)},
                 "global_avg_pool_backward");
}

}  // namespace mx::kernels::cuda
