// CPU twins of the elementwise kernels, parallel over elements with OpenMP.
#include "kernels/elementwise.h"

namespace mx::kernels {

template <>
void relu_forward<Device::CPU>(float* y, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

template <>
void relu_backward<Device::CPU>(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

template <>
void add_forward<Device::CPU>(float* z, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) z[i] = a[i] + b[i];
}

template <>
void add_inplace<Device::CPU>(float* dst, const float* src, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

template <>
void scale_inplace<Device::CPU>(float* dst, float s, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] *= s;
}

}  // namespace mx::kernels
