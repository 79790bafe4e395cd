// CUDA pooling: one thread per output for the forward passes, visiting the window in the CPU twin's
// order (so max pooling picks the same element and average pooling sums in the same order); one
// thread per input for the average-pooling gradient (a gather, written once); atomics only for the
// max-pooling gradient, which windows that overlap can send to one input.
#include <cmath>

#include "kernels/launch.cuh"
#include "kernels/pool.h"

namespace mx::kernels {

namespace {

// The clipped window of one output: input rows [r0, r1) and columns [c0, c1) of its plane.
struct Window {
  int64_t r0, r1, c0, c1;
};

// The planes' sizes and the window parameters shared by every pooling functor.
struct PoolGeometry {
  int64_t h, w, oh, ow;
  int kernel, stride, padding;

  // Output o's plane (set into `plane`) and window.
  __device__ Window window(int64_t o, int64_t& plane) const {
    plane = o / (oh * ow);
    const int64_t top = o % (oh * ow) / ow * stride - padding, left = o % ow * stride - padding;
    return {max(top, int64_t{0}), min(top + kernel, h), max(left, int64_t{0}), min(left + kernel, w)};
  }
  // Outputs [first, last] along an axis of `outs` outputs whose windows cover input coordinate r.
  __device__ void covering(int64_t r, int64_t outs, int64_t& first, int64_t& last) const {
    const int64_t lo = r + padding - kernel + 1;  // smallest window start that still covers r
    first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
    last = min((r + padding) / stride, outs - 1);
  }
  __device__ float inv_area() const { return 1.f / static_cast<float>(kernel * kernel); }
};

struct MaxPool {
  float* y;
  int32_t* argmax;
  const float* x;
  PoolGeometry g;
  __device__ void operator()(int64_t o) const {
    int64_t plane;
    const Window win = g.window(o, plane);
    const float* xp = x + plane * g.h * g.w;
    float best = -INFINITY;
    int64_t best_at = win.r0 * g.w + win.c0;
    for (int64_t r = win.r0; r < win.r1; ++r)
      for (int64_t s = win.c0; s < win.c1; ++s) {
        const float v = xp[r * g.w + s];
        if (v > best || isnan(v)) best = v, best_at = r * g.w + s;  // first maximum; a NaN wins
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
  PoolGeometry g;
  __device__ void operator()(int64_t o) const {
    int64_t plane;
    const Window win = g.window(o, plane);
    const float* xp = x + plane * g.h * g.w;
    float sum = 0.f;
    for (int64_t r = win.r0; r < win.r1; ++r)
      for (int64_t s = win.c0; s < win.c1; ++s) sum += xp[r * g.w + s];
    y[o] = sum * g.inv_area();
  }
};

struct AvgPoolBackward {
  float* dx;
  const float* dy;
  PoolGeometry g;
  __device__ void operator()(int64_t e) const {
    const int64_t plane = e / (g.h * g.w), r = e % (g.h * g.w) / g.w, s = e % g.w;
    int64_t i0, i1, j0, j1;
    g.covering(r, g.oh, i0, i1);
    g.covering(s, g.ow, j0, j1);
    const float* gp = dy + plane * g.oh * g.ow;
    float sum = 0.f;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j) sum += gp[i * g.ow + j] * g.inv_area();
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

template <>
void max_pool2d_forward<Device::CUDA>(float* y, int32_t* argmax, const float* x, int64_t planes, int64_t h, int64_t w,
                                      int64_t oh, int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * oh * ow, MaxPool{y, argmax, x, {h, w, oh, ow, kernel, stride, padding}}, "max_pool2d_forward");
}

template <>
void max_pool2d_backward<Device::CUDA>(float* dx, const float* dy, const int32_t* argmax, int64_t planes, int64_t h,
                                       int64_t w, int64_t oh, int64_t ow) {
  if (planes * h * w <= 0) return;
  CHECK_CUDA(cudaMemsetAsync(dx, 0, static_cast<size_t>(planes * h * w) * sizeof(float), ::mx::cuda::current_stream()));
  for_each_index(planes * oh * ow, MaxPoolBackward{dx, dy, argmax, h * w, oh * ow}, "max_pool2d_backward");
}

template <>
void avg_pool2d_forward<Device::CUDA>(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                      int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * oh * ow, AvgPool{y, x, {h, w, oh, ow, kernel, stride, padding}}, "avg_pool2d_forward");
}

template <>
void avg_pool2d_backward<Device::CUDA>(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                       int64_t ow, int kernel, int stride, int padding) {
  for_each_index(planes * h * w, AvgPoolBackward{dx, dy, {h, w, oh, ow, kernel, stride, padding}},
                 "avg_pool2d_backward");
}

template <>
void global_avg_pool_forward<Device::CUDA>(float* y, const float* x, int64_t planes, int64_t hw) {
  if (planes <= 0) return;
  global_avg_pool_kernel<<<grid_for(planes * 32), kThreads, 0, ::mx::cuda::current_stream()>>>(y, x, planes, hw);
  MX_CHECK_LAUNCH("global_avg_pool_forward");
}

template <>
void global_avg_pool_backward<Device::CUDA>(float* dx, const float* dy, int64_t planes, int64_t hw) {
  for_each_index(planes * hw, GlobalAvgPoolBackward{dx, dy, hw, 1.f / static_cast<float>(hw)},
                 "global_avg_pool_backward");
}

}  // namespace mx::kernels
