// Front-end of instance_norm2d: per-plane statistics (no running ones), an optional per-channel affine;
// the backward differentiates through the plane statistics (kernels/instance_norm.h).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/instance_norm.h"

namespace mx::ops {

using detail::data_or_null;

Tensor instance_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  const char* op = "instance_norm2d";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  MX_CHECK(gamma.defined() == beta.defined(), "instance_norm2d: gamma and beta must both be given (affine) or both "
           "be undefined, got only ", gamma.defined() ? "gamma" : "beta");
  if (gamma.defined()) {
    detail::check_vector(gamma, c, x, op, "gamma");
    detail::check_vector(beta, c, x, op, "beta");
  }
  MX_CHECK(hw > 1, "instance_norm2d: needs more than one spatial element per plane, got x ", shape_str(x.shape()));
  MX_CHECK(eps >= 0.f, "instance_norm2d: eps must not be negative, got ", eps);
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  Tensor mean = Tensor::empty({n * c}, DType::F32, x.device());
  Tensor invstd = Tensor::empty({n * c}, DType::F32, x.device());
  MX_DISPATCH(x.device(), instance_norm_forward, y.data<float>(), mean.data<float>(), invstd.data<float>(),
              x.data<float>(), data_or_null(gamma), data_or_null(beta), n, c, hw, eps);
  if (needs_grad({&x, &gamma, &beta})) {
    const bool need_x = x.requires_grad();
    const bool need_gamma = gamma.defined() && gamma.requires_grad();
    const bool need_beta = beta.defined() && beta.requires_grad();
    Tensor xs = x.detach(), gs = gamma.defined() ? gamma.detach() : Tensor();
    record(y, op, {x, gamma, beta}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = detail::grad_buffer(need_x, xs);
      Tensor ggamma = need_gamma ? Tensor::empty({c}, DType::F32, gy.device()) : Tensor();
      Tensor gbeta = need_beta ? Tensor::empty({c}, DType::F32, gy.device()) : Tensor();
      MX_DISPATCH(gy.device(), instance_norm_backward, data_or_null(gx), data_or_null(ggamma), data_or_null(gbeta),
                  gy.data<float>(), xs.data<float>(), data_or_null(gs), mean.data<float>(), invstd.data<float>(), n, c,
                  hw);
      return {gx, ggamma, gbeta};
    });
  }
  return y;
}

}  // namespace mx::ops
