// Front-ends of conv2d and linear: check the shapes, then call kernels/conv.h and kernels/linear.h
// (im2col + Eigen on the CPU, cuDNN and cuBLAS on the GPU); the multiply-add counter they feed.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/conv.h"
#include "kernels/linear.h"

namespace mx::ops {

using detail::data_or_null;
using detail::grad_buffer;
using kernels::ConvShape;

namespace {

thread_local MacCounter* active_counter = nullptr;

ConvShape conv_shape(const Tensor& x, const Tensor& weight, const Conv2dArgs& args) {
  const char* op = "conv2d";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  check_dtype(weight, DType::F32, op, "weight");
  check_dim(weight, 4, op, "weight");
  check_same_device(x, weight, op);
  MX_CHECK(args.stride >= 1 && args.padding >= 0 && args.groups >= 1, "conv2d: invalid stride ", args.stride,
           ", padding ", args.padding, " or groups ", args.groups);
  ConvShape s{};
  s.n = x.size(0), s.c = x.size(1), s.h = x.size(2), s.w = x.size(3);
  s.o = weight.size(0), s.kh = weight.size(2), s.kw = weight.size(3);
  s.stride = args.stride, s.padding = args.padding, s.groups = args.groups;
  MX_CHECK(s.o % s.groups == 0 && s.c == weight.size(1) * s.groups, "conv2d: x ", shape_str(x.shape()),
           " and weight ", shape_str(weight.shape()), " do not match with groups ", s.groups);
  MX_CHECK(s.h + 2 * s.padding >= s.kh && s.w + 2 * s.padding >= s.kw, "conv2d: kernel ", s.kh, "x", s.kw,
           " is larger than the padded input ", shape_str(x.shape()), " with padding ", s.padding);
  s.oh = (s.h + 2 * s.padding - s.kh) / s.stride + 1;
  s.ow = (s.w + 2 * s.padding - s.kw) / s.stride + 1;
  return s;
}

}  // namespace

MacCounter::MacCounter() : outer_(active_counter) { active_counter = this; }
MacCounter::~MacCounter() { active_counter = outer_; }

void MacCounter::record(int64_t macs) {
  for (MacCounter* c = active_counter; c; c = c->outer_) c->count_ += macs;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dArgs& args) {
  ConvShape s = conv_shape(x, weight, args);
  if (bias.defined()) detail::check_vector(bias, s.o, x, "conv2d", "bias");
  Tensor y = Tensor::empty({s.n, s.o, s.oh, s.ow}, DType::F32, x.device());
  MacCounter::record(s.n * s.o * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw);
  MX_DISPATCH(x.device(), conv2d_forward, y.data<float>(), x.data<float>(), weight.data<float>(), data_or_null(bias),
              s);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    Tensor xs = x.detach(), ws = weight.detach();
    record(y, "conv2d", {x, weight, bias}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = grad_buffer(need_x, xs), gw = grad_buffer(need_w, ws);
      Tensor gb = need_b ? Tensor::empty({s.o}, DType::F32, gy.device()) : Tensor();
      MX_DISPATCH(gy.device(), conv2d_backward, data_or_null(gx), data_or_null(gw), data_or_null(gb), gy.data<float>(),
                  xs.data<float>(), ws.data<float>(), s);
      return {gx, gw, gb};
    });
  }
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "linear";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 2, op, "x");
  check_dtype(weight, DType::F32, op, "weight");
  check_dim(weight, 2, op, "weight");
  check_same_device(x, weight, op);
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(0);
  MX_CHECK(weight.size(1) == in, "linear: x ", shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
           " do not match");
  if (bias.defined()) detail::check_vector(bias, out, x, op, "bias");
  Tensor y = Tensor::empty({n, out}, DType::F32, x.device());
  MacCounter::record(n * in * out);
  MX_DISPATCH(x.device(), linear_forward, y.data<float>(), x.data<float>(), weight.data<float>(), data_or_null(bias), n,
              in, out);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    Tensor xs = x.detach(), ws = weight.detach();
    record(y, "linear", {x, weight, bias}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = grad_buffer(need_x, xs), gw = grad_buffer(need_w, ws);
      Tensor gb = need_b ? Tensor::empty({out}, DType::F32, gy.device()) : Tensor();
      MX_DISPATCH(gy.device(), linear_backward, data_or_null(gx), data_or_null(gw), data_or_null(gb), gy.data<float>(),
                  xs.data<float>(), ws.data<float>(), n, in, out);
      return {gx, gw, gb};
    });
  }
  return y;
}

}  // namespace mx::ops
