// Front-ends of the GAN activations, the per-sample blend and the pointwise losses (engine/ops.h).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/elementwise.h"
#include "kernels/pointwise_loss.h"

namespace mx::ops {

using detail::data_or_null;
using detail::grad_buffer;
using kernels::PointLoss;

namespace {

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), DType::F32, t.device()); }

// A per-sample vector lam [N] F32 for x [N, ...] on x's device; returns the elements per sample.
int64_t check_per_sample(const Tensor& x, const Tensor& lam, const char* op, const char* arg) {
  check_dtype(x, DType::F32, op, "x");
  MX_CHECK(x.dim() >= 1 && x.size(0) > 0 && x.numel() > 0, op, ": input ", shape_str(x.shape()), " is empty");
  detail::check_vector(lam, x.size(0), x, op, arg);
  return x.numel() / x.size(0);
}

// The mean loss of x against t (t[i / per] for element i), recorded for backward.
Tensor pointwise_loss(const Tensor& x, const Tensor& t, int64_t per, PointLoss kind, const char* name) {
  const int64_t n = x.numel();
  Tensor loss = Tensor::empty({1}, DType::F32, x.device());
  MX_DISPATCH(x.device(), pointwise_loss_forward, loss.data<float>(), x.data<float>(), t.data<float>(), n, per, kind);
  if (needs_grad({&x, &t})) {
    const bool need_x = x.requires_grad(), need_t = per == 1 && t.requires_grad();
    Tensor xs = x.detach(), ts = t.detach();
    record(loss, name, {x, t}, [=](const Tensor& g) -> std::vector<Tensor> {
      Tensor gx = grad_buffer(need_x, xs), gt = grad_buffer(need_t, ts);
      MX_DISPATCH(g.device(), pointwise_loss_backward, data_or_null(gx), data_or_null(gt), g.data<float>(),
                  xs.data<float>(), ts.data<float>(), n, per, kind);
      return {gx, gt};
    });
  }
  return loss;
}

Tensor same_shape_loss(const Tensor& x, const Tensor& t, PointLoss kind, const char* op) {
  check_dtype(x, DType::F32, op, "x");
  check_dtype(t, DType::F32, op, "target");
  check_same_shape(x, t, op);
  check_same_device(x, t, op);
  MX_CHECK(x.numel() > 0, op, ": input ", shape_str(x.shape()), " is empty");
  return pointwise_loss(x, t, 1, kind, op);
}

Tensor per_sample_loss(const Tensor& pred, const Tensor& t, PointLoss kind, const char* op) {
  return pointwise_loss(pred, t, check_per_sample(pred, t, op, "target"), kind, op);
}

}  // namespace

Tensor tanh(const Tensor& x) {
  check_dtype(x, DType::F32, "tanh", "x");
  Tensor y = empty_like(x);
  MX_DISPATCH(x.device(), tanh_forward, y.data<float>(), x.data<float>(), x.numel());
  if (needs_grad({&x})) {
    Tensor saved = y.detach();
    record(y, "tanh", {x}, [saved](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = empty_like(gy);
      MX_DISPATCH(gy.device(), tanh_backward, gx.data<float>(), gy.data<float>(), saved.data<float>(), gy.numel());
      return {gx};
    });
  }
  return y;
}

Tensor sigmoid(const Tensor& x) {
  check_dtype(x, DType::F32, "sigmoid", "x");
  Tensor y = empty_like(x);
  MX_DISPATCH(x.device(), sigmoid_forward, y.data<float>(), x.data<float>(), x.numel());
  if (needs_grad({&x})) {
    Tensor saved = y.detach();
    record(y, "sigmoid", {x}, [saved](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = empty_like(gy);
      MX_DISPATCH(gy.device(), sigmoid_backward, gx.data<float>(), gy.data<float>(), saved.data<float>(), gy.numel());
      return {gx};
    });
  }
  return y;
}

Tensor leaky_relu(const Tensor& x, float slope) {
  check_dtype(x, DType::F32, "leaky_relu", "x");
  Tensor y = empty_like(x);
  MX_DISPATCH(x.device(), leaky_relu_forward, y.data<float>(), x.data<float>(), slope, x.numel());
  if (needs_grad({&x})) {
    Tensor saved = x.detach();
    record(y, "leaky_relu", {x}, [saved, slope](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = empty_like(gy);
      MX_DISPATCH(gy.device(), leaky_relu_backward, gx.data<float>(), gy.data<float>(), saved.data<float>(), slope,
                  gy.numel());
      return {gx};
    });
  }
  return y;
}

Tensor scale(const Tensor& x, float s) {
  check_dtype(x, DType::F32, "scale", "x");
  Tensor y = empty_like(x);
  MX_DISPATCH(x.device(), scale_forward, y.data<float>(), x.data<float>(), s, x.numel());
  if (needs_grad({&x})) {
    record(y, "scale", {x}, [s](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = empty_like(gy);
      MX_DISPATCH(gy.device(), scale_forward, gx.data<float>(), gy.data<float>(), s, gy.numel());
      return {gx};
    });
  }
  return y;
}

Tensor blend(const Tensor& a, const Tensor& b, const Tensor& lam) {
  const int64_t per = check_per_sample(a, lam, "blend", "lam");
  check_dtype(b, DType::F32, "blend", "b");
  check_same_shape(a, b, "blend");
  check_same_device(a, b, "blend");
  Tensor out = empty_like(a);
  const int64_t n = a.numel();
  MX_DISPATCH(a.device(), blend_forward, out.data<float>(), a.data<float>(), b.data<float>(), lam.data<float>(), n,
              per);
  if (needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    Tensor ls = lam.detach();
    record(out, "blend", {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
      Tensor ga = grad_buffer(need_a, g), gb = grad_buffer(need_b, g);
      MX_DISPATCH(g.device(), blend_backward, data_or_null(ga), data_or_null(gb), g.data<float>(), ls.data<float>(),
                  n, per);
      return {ga, gb};
    });
  }
  return out;
}

Tensor l1_loss(const Tensor& x, const Tensor& target) { return same_shape_loss(x, target, PointLoss::kL1, "l1_loss"); }
Tensor mse_loss(const Tensor& x, const Tensor& target) { return same_shape_loss(x, target, PointLoss::kMse, "mse_loss"); }
Tensor mse_to_target(const Tensor& pred, const Tensor& target) {
  return per_sample_loss(pred, target, PointLoss::kMse, "mse_to_target");
}
Tensor bce_with_logits_to_target(const Tensor& pred, const Tensor& target) {
  return per_sample_loss(pred, target, PointLoss::kBceWithLogits, "bce_with_logits_to_target");
}

}  // namespace mx::ops
