// CUDA elementwise kernels: one grid-stride pass each. Results equal the CPU twin's bit for bit, except tanh
// and sigmoid, whose tanhf / expf differ from the host's std::tanh / std::exp by an ulp or two.
#include "kernels/elementwise.h"
#include "kernels/launch.cuh"
#include "kernels/relu_formulas.h"

namespace mx::kernels {

namespace {

struct Relu {
  float* y;
  const float* x;
  __device__ void operator()(int64_t i) const { y[i] = relu_value(x[i]); }
};

struct ReluBackward {
  float* dx;
  const float* dy;
  const float* y;
  __device__ void operator()(int64_t i) const { dx[i] = relu_gradient(dy[i], y[i]); }
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

struct ScaleForward {
  float* y;
  const float* x;
  float s;
  __device__ void operator()(int64_t i) const { y[i] = s * x[i]; }
};

struct Tanh {
  float* y;
  const float* x;
  __device__ void operator()(int64_t i) const { y[i] = tanhf(x[i]); }
};

struct TanhBackward {
  float* dx;
  const float* dy;
  const float* y;
  __device__ void operator()(int64_t i) const { dx[i] = dy[i] * (1.f - y[i] * y[i]); }
};

struct Sigmoid {
  float* y;
  const float* x;
  __device__ void operator()(int64_t i) const { y[i] = 1.f / (1.f + expf(-x[i])); }
};

struct SigmoidBackward {
  float* dx;
  const float* dy;
  const float* y;
  __device__ void operator()(int64_t i) const { dx[i] = dy[i] * y[i] * (1.f - y[i]); }
};

struct LeakyRelu {
  float* y;
  const float* x;
  float slope;
  __device__ void operator()(int64_t i) const { y[i] = x[i] > 0.f ? x[i] : slope * x[i]; }
};

struct LeakyReluBackward {
  float* dx;
  const float* dy;
  const float* x;
  float slope;
  __device__ void operator()(int64_t i) const { dx[i] = x[i] > 0.f ? dy[i] : slope * dy[i]; }
};

struct Blend {
  float* out;
  const float* a;
  const float* b;
  const float* lam;
  int64_t per;
  __device__ void operator()(int64_t i) const {
    const float w = lam[i / per];
    out[i] = w * a[i] + (1.f - w) * b[i];
  }
};

struct BlendBackward {
  float* da;
  float* db;
  const float* g;
  const float* lam;
  int64_t per;
  __device__ void operator()(int64_t i) const {
    const float w = lam[i / per];
    if (da) da[i] = w * g[i];
    if (db) db[i] = (1.f - w) * g[i];
  }
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

template <>
void scale_forward<Device::CUDA>(float* y, const float* x, float s, int64_t n) {
  for_each_index(n, ScaleForward{y, x, s}, "scale_forward");
}
template <>
void tanh_forward<Device::CUDA>(float* y, const float* x, int64_t n) {
  for_each_index(n, Tanh{y, x}, "tanh_forward");
}
template <>
void tanh_backward<Device::CUDA>(float* dx, const float* dy, const float* y, int64_t n) {
  for_each_index(n, TanhBackward{dx, dy, y}, "tanh_backward");
}
template <>
void sigmoid_forward<Device::CUDA>(float* y, const float* x, int64_t n) {
  for_each_index(n, Sigmoid{y, x}, "sigmoid_forward");
}
template <>
void sigmoid_backward<Device::CUDA>(float* dx, const float* dy, const float* y, int64_t n) {
  for_each_index(n, SigmoidBackward{dx, dy, y}, "sigmoid_backward");
}
template <>
void leaky_relu_forward<Device::CUDA>(float* y, const float* x, float slope, int64_t n) {
  for_each_index(n, LeakyRelu{y, x, slope}, "leaky_relu_forward");
}
template <>
void leaky_relu_backward<Device::CUDA>(float* dx, const float* dy, const float* x, float slope, int64_t n) {
  for_each_index(n, LeakyReluBackward{dx, dy, x, slope}, "leaky_relu_backward");
}
template <>
void blend_forward<Device::CUDA>(float* out, const float* a, const float* b, const float* lam, int64_t n,
                                 int64_t per) {
  for_each_index(n, Blend{out, a, b, lam, per}, "blend_forward");
}
template <>
void blend_backward<Device::CUDA>(float* da, float* db, const float* g, const float* lam, int64_t n, int64_t per) {
  for_each_index(n, BlendBackward{da, db, g, lam, per}, "blend_backward");
}

}  // namespace mx::kernels
