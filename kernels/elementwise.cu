// CUDA elementwise kernels: one grid-stride pass each; results equal the CPU twin's bit for bit.
#include "kernels/elementwise.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

namespace {

struct Relu {
  float* y;
  const float* x;
  __device__ void operator()(int64_t i) const { y[i] = x[i] > 0.f ? x[i] : 0.f; }
};

struct ReluBackward {
  float* dx;
  const float* dy;
  const float* y;
  __device__ void operator()(int64_t i) const { dx[i] = y[i] > 0.f ? dy[i] : 0.f; }
};

struct Add {
  float* z;
  const float* a;
  const float* b;
  __device__ void operator()(int64_t i) const { z[i] = a[i] + b[i]; }
};

struct AddInplace {
  float* dst;
  const float* src;
  __device__ void operator()(int64_t i) const { dst[i] += src[i]; }
};

struct Scale {
  float* dst;
  float s;
  __device__ void operator()(int64_t i) const { dst[i] *= s; }
};

}  // namespace

template <>
void relu_forward<Device::CUDA>(float* y, const float* x, int64_t n) {
  for_each_index(n, Relu{y, x}, "relu_forward");
}
template <>
void relu_backward<Device::CUDA>(float* dx, const float* dy, const float* y, int64_t n) {
  for_each_index(n, ReluBackward{dx, dy, y}, "relu_backward");
}
template <>
void add_forward<Device::CUDA>(float* z, const float* a, const float* b, int64_t n) {
  for_each_index(n, Add{z, a, b}, "add_forward");
}
template <>
void add_inplace<Device::CUDA>(float* dst, const float* src, int64_t n) {
  for_each_index(n, AddInplace{dst, src}, "add_inplace");
}
template <>
void scale_inplace<Device::CUDA>(float* dst, float s, int64_t n) {
  for_each_index(n, Scale{dst, s}, "scale_inplace");
}

}  // namespace mx::kernels
