// CPU twin of reflection padding: one plane per OpenMP iteration. The forward copies each row's
// middle and reflects its edges; the backward gathers, as reflection_pad.h describes.
#include <algorithm>
#include <vector>

#include "kernels/reflection_pad.h"

namespace mx::kernels {

namespace {

// The sources of every index along one axis: count[r] of them, in src[3 r ...].
struct AxisSources {
  std::vector<int> count;
  std::vector<int64_t> src;
  AxisSources(int64_t size, int64_t pad) : count(static_cast<size_t>(size)), src(static_cast<size_t>(3 * size)) {
    for (int64_t r = 0; r < size; ++r) count[r] = reflection_sources(r, size, pad, &src[3 * r]);
  }
};

}  // namespace

template <>
void reflection_pad2d_forward<Device::CPU>(float* y, const float* x, int64_t planes, int64_t h, int64_t w,
                                           int64_t pad) {
  const int64_t oh = h + 2 * pad, ow = w + 2 * pad;
#pragma omp parallel for schedule(static) if (planes * oh * ow > 65536)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i) {
      const float* xr = x + (p * h + reflected_index(i, h, pad)) * w;
      float* yr = y + (p * oh + i) * ow;
      for (int64_t j = 0; j < pad; ++j) yr[j] = xr[pad - j];
      std::copy(xr, xr + w, yr + pad);
      for (int64_t j = 0; j < pad; ++j) yr[pad + w + j] = xr[w - 2 - j];
    }
}

template <>
void reflection_pad2d_backward<Device::CPU>(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w,
                                            int64_t pad) {
  const int64_t oh = h + 2 * pad, ow = w + 2 * pad;
  const AxisSources rows(h, pad), cols(w, pad);
#pragma omp parallel for schedule(static) if (planes * oh * ow > 65536)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < h; ++r)
      for (int64_t s = 0; s < w; ++s) {
        float sum = 0.f;
        for (int a = 0; a < rows.count[r]; ++a) {
          const float* dyr = dy + (p * oh + rows.src[3 * r + a]) * ow;
          for (int b = 0; b < cols.count[s]; ++b) sum += dyr[cols.src[3 * s + b]];
        }
        dx[(p * h + r) * w + s] = sum;
      }
}

}  // namespace mx::kernels
