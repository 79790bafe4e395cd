// CUDA reflection padding: one thread per output for the forward, one per input for the backward's
// gather, which visits the sources in the CPU twin's order (so both directions match it bit for bit).
#include "kernels/launch.cuh"
#include "kernels/reflection_pad.h"

namespace mx::kernels {

namespace {

struct PadForward {
  float* y;
  const float* x;
  int64_t h, w, pad;
  __device__ void operator()(int64_t o) const {
    const int64_t oh = h + 2 * pad, ow = w + 2 * pad;
    const int64_t p = o / (oh * ow), i = o / ow % oh, j = o % ow;
    y[o] = x[(p * h + reflected_index(i, h, pad)) * w + reflected_index(j, w, pad)];
  }
};

struct PadBackward {
  float* dx;
  const float* dy;
  int64_t h, w, pad;
  __device__ void operator()(int64_t e) const {
    const int64_t oh = h + 2 * pad, ow = w + 2 * pad;
    const int64_t p = e / (h * w), r = e / w % h, s = e % w;
    int64_t rows[3], cols[3];
    const int nr = reflection_sources(r, h, pad, rows), nc = reflection_sources(s, w, pad, cols);
    float sum = 0.f;
    for (int a = 0; a < nr; ++a)
      for (int b = 0; b < nc; ++b) sum += dy[(p * oh + rows[a]) * ow + cols[b]];
    dx[e] = sum;
  }
};

}  // namespace

template <>
void reflection_pad2d_forward<Device::CUDA>(float* y, const float* x, int64_t planes, int64_t h, int64_t w,
                                            int64_t pad) {
  for_each_index(planes * (h + 2 * pad) * (w + 2 * pad), PadForward{y, x, h, w, pad}, "reflection_pad2d_forward");
}

template <>
void reflection_pad2d_backward<Device::CUDA>(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w,
                                             int64_t pad) {
  for_each_index(planes * h * w, PadBackward{dx, dy, h, w, pad}, "reflection_pad2d_backward");
}

}  // namespace mx::kernels
