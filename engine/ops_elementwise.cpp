// Front-ends of the elementwise and shape ops: relu, add, flatten.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace mx::ops {

Tensor relu(const Tensor& x) {
  check_dtype(x, DType::F32, "relu", "x");
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  MX_DISPATCH(x.device(), relu_forward, y.data<float>(), x.data<float>(), x.numel());
  if (needs_grad({&x})) {
    Tensor saved = y.detach();
    record(y, "relu", {x}, [saved](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(gy.shape(), DType::F32, gy.device());
      MX_DISPATCH(gy.device(), relu_backward, gx.data<float>(), gy.data<float>(), saved.data<float>(),
                  gy.numel());
      return {gx};
    });
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_dtype(a, DType::F32, "add", "a");
  check_dtype(b, DType::F32, "add", "b");
  check_same_shape(a, b, "add");
  check_same_device(a, b, "add");
  Tensor z = Tensor::empty(a.shape(), DType::F32, a.device());
  MX_DISPATCH(a.device(), add_forward, z.data<float>(), a.data<float>(), b.data<float>(), a.numel());
  if (needs_grad({&a, &b})) {
    record(z, "add", {a, b}, [](const Tensor& gz) -> std::vector<Tensor> { return {gz, gz}; });
  }
  return z;
}

Tensor flatten(const Tensor& x) {
  MX_CHECK(x.dim() >= 1, "flatten: needs at least one dimension");
  Shape in_shape = x.shape();
  int64_t n = x.size(0);
  Tensor y = x.view({n, n ? x.numel() / n : 0});
  if (needs_grad({&x})) {
    record(y, "flatten", {x}, [in_shape](const Tensor& gy) -> std::vector<Tensor> { return {gy.view(in_shape)}; });
  }
  return y;
}

}  // namespace mx::ops
