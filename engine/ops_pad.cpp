// Front-end of reflection_pad2d (kernels/reflection_pad.h): the padded copy and its gather backward.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/reflection_pad.h"

namespace mx::ops {

Tensor reflection_pad2d(const Tensor& x, int pad) {
  const char* op = "reflection_pad2d";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  MX_CHECK(pad >= 0 && pad < h && pad < w, "reflection_pad2d: pad ", pad,
           " must be at least 0 and less than the height and width of x ", shape_str(x.shape()));
  Tensor y = Tensor::empty({n, c, h + 2 * pad, w + 2 * pad}, DType::F32, x.device());
  MX_DISPATCH(x.device(), reflection_pad2d_forward, y.data<float>(), x.data<float>(), n * c, h, w, pad);
  if (needs_grad({&x})) {
    const Shape in_shape = x.shape();
    record(y, op, {x}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = Tensor::empty(in_shape, DType::F32, gy.device());
      MX_DISPATCH(gy.device(), reflection_pad2d_backward, gx.data<float>(), gy.data<float>(), n * c, h, w, pad);
      return {gx};
    });
  }
  return y;
}

}  // namespace mx::ops
