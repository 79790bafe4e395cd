// Front-ends of max_pool2d, avg_pool2d and global_avg_pool (floor-mode windows, zero padding).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/pool.h"

namespace mx::ops {

namespace {

struct PoolShape {
  int64_t n, c, h, w, oh, ow;
};

PoolShape pool_shape(const Tensor& x, int kernel, int stride, int padding, const char* op) {
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  MX_CHECK(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel, op, ": invalid kernel ", kernel,
           ", stride ", stride, " or padding ", padding, " (padding at most half the kernel)");
  PoolShape s{x.size(0), x.size(1), x.size(2), x.size(3), 0, 0};
  MX_CHECK(s.h + 2 * padding >= kernel && s.w + 2 * padding >= kernel, op, ": window ", kernel,
           " is larger than the padded input ", shape_str(x.shape()));
  s.oh = (s.h + 2 * padding - kernel) / stride + 1;
  s.ow = (s.w + 2 * padding - kernel) / stride + 1;
  return s;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  PoolShape s = pool_shape(x, kernel, stride, padding, "max_pool2d");
  Tensor y = Tensor::empty({s.n, s.c, s.oh, s.ow}, DType::F32, x.device());
  Tensor argmax = Tensor::empty(y.shape(), DType::I32, x.device());
  MX_DISPATCH(x.device(), max_pool2d_forward, y.data<float>(), argmax.data<int32_t>(), x.data<float>(), s.n * s.c,
              s.h, s.w, s.oh, s.ow, kernel, stride, padding);
  if (needs_grad({&x})) {
    Shape in_shape = x.shape();
    record(y, "max_pool2d", {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(in_shape, DType::F32, gy.device());
      MX_DISPATCH(gy.device(), max_pool2d_backward, gx.data<float>(), gy.data<float>(), argmax.data<int32_t>(),
                  s.n * s.c, s.h, s.w, s.oh, s.ow);
      return {gx};
    });
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  PoolShape s = pool_shape(x, kernel, stride, padding, "avg_pool2d");
  Tensor y = Tensor::empty({s.n, s.c, s.oh, s.ow}, DType::F32, x.device());
  MX_DISPATCH(x.device(), avg_pool2d_forward, y.data<float>(), x.data<float>(), s.n * s.c, s.h, s.w, s.oh, s.ow,
              kernel, stride, padding);
  if (needs_grad({&x})) {
    Shape in_shape = x.shape();
    record(y, "avg_pool2d", {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(in_shape, DType::F32, gy.device());
      MX_DISPATCH(gy.device(), avg_pool2d_backward, gx.data<float>(), gy.data<float>(), s.n * s.c, s.h, s.w, s.oh,
                  s.ow, kernel, stride, padding);
      return {gx};
    });
  }
  return y;
}

Tensor global_avg_pool(const Tensor& x) {
  check_dtype(x, DType::F32, "global_avg_pool", "x");
  check_dim(x, 4, "global_avg_pool", "x");
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  MX_CHECK(hw > 0, "global_avg_pool: empty image in x ", shape_str(x.shape()));
  Tensor y = Tensor::empty({n, c}, DType::F32, x.device());
  MX_DISPATCH(x.device(), global_avg_pool_forward, y.data<float>(), x.data<float>(), n * c, hw);
  if (needs_grad({&x})) {
    Shape in_shape = x.shape();
    record(y, "global_avg_pool", {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(in_shape, DType::F32, gy.device());
      MX_DISPATCH(gy.device(), global_avg_pool_backward, gx.data<float>(), gy.data<float>(), n * c, hw);
      return {gx};
    });
  }
  return y;
}

}  // namespace mx::ops
