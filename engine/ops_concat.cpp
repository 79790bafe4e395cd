// Front-end of concat_channels: inputs of equal N, H, W stacked along C; the backward hands each
// input its slice of channels.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/concat.h"

namespace mx::ops {

Tensor concat_channels(const std::vector<Tensor>& xs) {
  const char* op = "concat_channels";
  MX_CHECK(!xs.empty(), "concat_channels: no inputs");
  std::vector<int64_t> channels;
  int64_t total = 0;
  for (const Tensor& x : xs) {
    check_dtype(x, DType::F32, op, "input");
    check_dim(x, 4, op, "input");
    check_same_device(x, xs[0], op);
    MX_CHECK(x.size(0) == xs[0].size(0) && x.size(2) == xs[0].size(2) && x.size(3) == xs[0].size(3),
             "concat_channels: shapes ", shape_str(xs[0].shape()), " and ", shape_str(x.shape()),
             " differ outside the channel axis");
    channels.push_back(x.size(1));
    total += x.size(1);
  }
  const int64_t n = xs[0].size(0), h = xs[0].size(2), w = xs[0].size(3);
  Tensor y = Tensor::empty({n, total, h, w}, DType::F32, xs[0].device());
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    MX_DISPATCH(y.device(), copy_channels, y.data<float>(), total, offset, xs[i].data<float>(), channels[i], 0, n,
                channels[i], h * w);
    offset += channels[i];
  }
  bool grad = false;
  for (const Tensor& x : xs) grad = grad || needs_grad({&x});
  if (grad) {
    record(y, "concat_channels", xs, [=](const Tensor& gy) -> std::vector<Tensor> {
      std::vector<Tensor> grads;
      int64_t off = 0;
      for (int64_t ch : channels) {
        Tensor g = Tensor::empty({n, ch, h, w}, DType::F32, gy.device());
        MX_DISPATCH(gy.device(), copy_channels, g.data<float>(), ch, 0, gy.data<float>(), total, off, n, ch, h * w);
        grads.push_back(g);
        off += ch;
      }
      return grads;
    });
  }
  return y;
}

}  // namespace mx::ops
