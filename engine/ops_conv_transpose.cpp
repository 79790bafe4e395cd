// Front-end of conv_transpose2d, the adjoint of conv2d, through conv2d's own kernels (kernels/conv.h):
// the ConvShape's "x" is the transposed convolution's output and its "y" the input, so the forward is
// conv2d's backward-data (cuDNN's on the GPU), the input gradient conv2d's forward and the weight
// gradient conv2d's backward-filter with x and dy swapped. The bias is added on its own
// (kernels/channel_bias.h).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/channel_bias.h"
#include "kernels/conv.h"

namespace mx::ops {

using detail::data_or_null;
using detail::grad_buffer;
using kernels::ConvShape;

namespace {

ConvShape transposed_shape(const Tensor& x, const Tensor& weight, const ConvTranspose2dArgs& args) {
  const char* op = "conv_transpose2d";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  check_dtype(weight, DType::F32, op, "weight");
  check_dim(weight, 4, op, "weight");
  check_same_device(x, weight, op);
  MX_CHECK(args.stride >= 1 && args.padding >= 0 && args.groups >= 1, "conv_transpose2d: invalid stride ",
           args.stride, ", padding ", args.padding, " or groups ", args.groups);
  MX_CHECK(args.output_padding >= 0 && args.output_padding < args.stride, "conv_transpose2d: output_padding ",
           args.output_padding, " must be at least 0 and less than the stride ", args.stride);
  ConvShape s{};
  s.n = x.size(0), s.o = x.size(1), s.oh = x.size(2), s.ow = x.size(3);
  s.c = weight.size(1) * args.groups, s.kh = weight.size(2), s.kw = weight.size(3);
  s.stride = args.stride, s.padding = args.padding, s.groups = args.groups;
  MX_CHECK(weight.size(0) == s.o && s.o % s.groups == 0, "conv_transpose2d: x ", shape_str(x.shape()), " and weight ",
           shape_str(weight.shape()), " do not match with groups ", s.groups);
  s.h = (s.oh - 1) * s.stride - 2 * s.padding + s.kh + args.output_padding;
  s.w = (s.ow - 1) * s.stride - 2 * s.padding + s.kw + args.output_padding;
  MX_CHECK(s.h >= 1 && s.w >= 1, "conv_transpose2d: output size ", s.h, "x", s.w, " of x ", shape_str(x.shape()),
           " and weight ", shape_str(weight.shape()), " with stride ", s.stride, " and padding ", s.padding,
           " is not positive");
  return s;
}

}  // namespace

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dArgs& args) {
  const ConvShape s = transposed_shape(x, weight, args);
  if (bias.defined()) detail::check_vector(bias, s.c, x, "conv_transpose2d", "bias");
  Tensor y = Tensor::empty({s.n, s.c, s.h, s.w}, DType::F32, x.device());
  MacCounter::record(s.n * s.o * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw);
  MX_DISPATCH(x.device(), conv2d_backward, y.data<float>(), nullptr, nullptr, x.data<float>(), nullptr,
              weight.data<float>(), s);
  if (bias.defined())
    MX_DISPATCH(x.device(), channel_bias_forward, y.data<float>(), bias.data<float>(), s.n, s.c, s.h * s.w);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    Tensor xs = x.detach(), ws = weight.detach();
    record(y, "conv_transpose2d", {x, weight, bias}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = grad_buffer(need_x, xs), gw = grad_buffer(need_w, ws);
      Tensor gb = need_b ? Tensor::empty({s.c}, DType::F32, gy.device()) : Tensor();
      if (need_x)
        MX_DISPATCH(gy.device(), conv2d_forward, gx.data<float>(), gy.data<float>(), ws.data<float>(), nullptr, s);
      if (need_w)
        MX_DISPATCH(gy.device(), conv2d_backward, nullptr, gw.data<float>(), nullptr, xs.data<float>(),
                    gy.data<float>(), ws.data<float>(), s);
      if (need_b)
        MX_DISPATCH(gy.device(), channel_bias_backward, gb.data<float>(), gy.data<float>(), s.n, s.c, s.h * s.w);
      return {gx, gw, gb};
    });
  }
  return y;
}

}  // namespace mx::ops
