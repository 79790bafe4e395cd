// Front-end of inverted dropout. The mask is recomputed from (seed, element) in the backward pass
// instead of being stored: the same kernel applied to the output gradient.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/dropout.h"

namespace mx::ops {

Tensor dropout(const Tensor& x, float p, uint64_t seed, bool training) {
  check_dtype(x, DType::F32, "dropout", "x");
  MX_CHECK(p >= 0.f && p <= 1.f, "dropout: p must lie in [0, 1], got ", p);
  if (!training || p == 0.f) return x;
  const float scale = p < 1.f ? 1.f / (1.f - p) : 0.f;
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  MX_DISPATCH(x.device(), dropout_apply, y.data<float>(), x.data<float>(), x.numel(), p, scale, seed);
  if (needs_grad({&x})) {
    record(y, "dropout", {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(gy.shape(), DType::F32, gy.device());
      MX_DISPATCH(gy.device(), dropout_apply, gx.data<float>(), gy.data<float>(), gy.numel(), p, scale, seed);
      return {gx};
    });
  }
  return y;
}

}  // namespace mx::ops
