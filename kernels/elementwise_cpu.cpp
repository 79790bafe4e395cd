// CPU twins of the elementwise kernels, parallel over elements with OpenMP.
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/relu_formulas.h"

namespace mx::kernels {

template <>
void relu_forward<Device::CPU>(float* y, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = relu_value(x[i]);
}

template <>
void relu_backward<Device::CPU>(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] = relu_gradient(dy[i], y[i]);
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

template <>
void scale_forward<Device::CPU>(float* y, const float* x, float s, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}

template <>
void tanh_forward<Device::CPU>(float* y, const float* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

template <>
void tanh_backward<Device::CPU>(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.f - y[i] * y[i]);
}

template <>
void sigmoid_forward<Device::CPU>(float* y, const float* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
}

template <>
void sigmoid_backward<Device::CPU>(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
}

template <>
void leaky_relu_forward<Device::CPU>(float* y, const float* x, float slope, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : slope * x[i];
}

template <>
void leaky_relu_backward<Device::CPU>(float* dx, const float* dy, const float* x, float slope, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.f ? dy[i] : slope * dy[i];
}

template <>
void blend_forward<Device::CPU>(float* out, const float* a, const float* b, const float* lam, int64_t n,
                                int64_t per) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float w = lam[i / per];
    out[i] = w * a[i] + (1.f - w) * b[i];
  }
}

template <>
void blend_backward<Device::CPU>(float* da, float* db, const float* g, const float* lam, int64_t n, int64_t per) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float w = lam[i / per];
    if (da) da[i] = w * g[i];
    if (db) db[i] = (1.f - w) * g[i];
  }
}

}  // namespace mx::kernels
