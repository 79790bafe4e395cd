// Front-end of batch_norm2d: batch statistics and running-stat update in training, running
// statistics in evaluation; the backward differentiates through whichever statistics were used.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/batchnorm.h"

namespace mx::ops {

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, const BatchNormArgs& args) {
  const char* op = "batch_norm2d";
  check_dtype(x, DType::F32, op, "x");
  check_dim(x, 4, op, "x");
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  detail::check_vector(gamma, c, x, op, "gamma");
  detail::check_vector(beta, c, x, op, "beta");
  detail::check_vector(running_mean, c, x, op, "running_mean");
  detail::check_vector(running_var, c, x, op, "running_var");
  MX_CHECK(!args.training || n * hw > 1, "batch_norm2d: training needs more than one value per channel, got x ",
           shape_str(x.shape()));
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  Tensor mean = Tensor::empty({c}, DType::F32, x.device());
  Tensor invstd = Tensor::empty({c}, DType::F32, x.device());
  if (args.training) {
    MX_DISPATCH(x.device(), batch_norm_train_forward, y.data<float>(), mean.data<float>(), invstd.data<float>(),
                running_mean.data<float>(), running_var.data<float>(), x.data<float>(), gamma.data<float>(),
                beta.data<float>(), n, c, hw, args.momentum, args.eps);
  } else {
    MX_DISPATCH(x.device(), batch_norm_eval_forward, y.data<float>(), mean.data<float>(), invstd.data<float>(),
                x.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
                running_var.data<float>(), n, c, hw, args.eps);
  }
  if (needs_grad({&x, &gamma, &beta})) {
    const bool need_x = x.requires_grad(), training = args.training;
    Tensor xs = x.detach(), gs = gamma.detach();
    record(y, "batch_norm2d", {x, gamma, beta}, [=](const Tensor& gy) -> std::vector<Tensor> {
      Tensor gx = detail::grad_buffer(need_x, xs);
      Tensor ggamma = Tensor::empty({c}, DType::F32, gy.device());
      Tensor gbeta = Tensor::empty({c}, DType::F32, gy.device());
      MX_DISPATCH(gy.device(), batch_norm_backward, detail::data_or_null(gx), ggamma.data<float>(),
                  gbeta.data<float>(), gy.data<float>(), xs.data<float>(), gs.data<float>(), mean.data<float>(),
                  invstd.data<float>(), n, c, hw, training);
      return {gx, ggamma, gbeta};
    });
  }
  return y;
}

}  // namespace mx::ops
