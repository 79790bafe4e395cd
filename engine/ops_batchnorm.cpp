// Front-end of batch_norm2d: batch statistics and running-stat update in training, running
// statistics in evaluation; the backward differentiates through whichever statistics were used.
// Synchronized training (args.sync over several ranks) runs the kernels' pieces with an all-reduce of
// the per-channel sums between them. With args.relu the output is relu(bn(x)), and the backward masks
// dy by that saved output inside the kernels.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_common.h"
#include "kernels/batchnorm.h"

namespace mx::ops {

namespace {

// The communicator whose ranks share the batch statistics, or null for this rank's batch alone.
dist::Communicator* sync_of(const BatchNormArgs& args) {
  return args.training && args.sync && args.sync->world_size() > 1 ? args.sync : nullptr;
}

// Per-channel sums of all ranks: 2c doubles on dev, summed over the ranks in place (no F64 dtype:
// I64 storage of the same width holds them).
struct RankSums {
  Tensor storage;
  RankSums(int64_t c, Device dev) : storage(Tensor::empty({2 * c}, DType::I64, dev)) {}
  double* data() { return static_cast<double*>(storage.raw()); }
  void all_reduce(dist::Communicator& comm) {
    comm.all_reduce(data(), storage.numel(), dist::Elem::F64, storage.device(), dist::Reduce::Sum);
  }
};

// The batch's values per channel over all ranks (equal batches on every rank, engine/ops.h).
double global_count(int64_t n, int64_t hw, const dist::Communicator& comm) {
  return static_cast<double>(n * hw) * comm.world_size();
}

// The training forward over all ranks' batches.
void synced_forward(Tensor& y, Tensor& mean, Tensor& invstd, Tensor& running_mean, Tensor& running_var,
                    const Tensor& x, const Tensor& gamma, const Tensor& beta, const BatchNormArgs& args,
                    dist::Communicator& comm) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  RankSums sums(c, x.device());
  MX_DISPATCH(x.device(), batch_norm_forward_sums, sums.data(), x.data<float>(), n, c, hw);
  sums.all_reduce(comm);
  MX_DISPATCH(x.device(), batch_norm_train_forward_from_sums, y.data<float>(), mean.data<float>(),
              invstd.data<float>(), running_mean.data<float>(), running_var.data<float>(), x.data<float>(),
              gamma.data<float>(), beta.data<float>(), sums.data(), global_count(n, hw, comm), n, c, hw,
              args.momentum, args.eps, args.relu);
}

// Its backward: dgamma and dbeta from this rank's sums, then dx (when gx is defined) from all ranks'.
// relu_out: the output of the fused ReLU, or null.
// Whether x needs a gradient is the same on every rank, so every rank skips the all-reduce or none does.
void synced_backward(Tensor& gx, Tensor& ggamma, Tensor& gbeta, const Tensor& gy, const Tensor& x,
                     const Tensor& gamma, const Tensor& mean, const Tensor& invstd, const float* relu_out,
                     dist::Communicator& comm) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  RankSums sums(c, x.device());
  MX_DISPATCH(x.device(), batch_norm_backward_sums, sums.data(), gy.data<float>(), x.data<float>(),
              mean.data<float>(), n, c, hw, relu_out);
  MX_DISPATCH(x.device(), batch_norm_param_grads, ggamma.data<float>(), gbeta.data<float>(), sums.data(),
              invstd.data<float>(), c);
  if (!gx.defined()) return;
  sums.all_reduce(comm);
  MX_DISPATCH(x.device(), batch_norm_backward_dx_from_sums, gx.data<float>(), gy.data<float>(), x.data<float>(),
              gamma.data<float>(), mean.data<float>(), invstd.data<float>(), sums.data(), global_count(n, hw, comm),
              n, c, hw, relu_out);
}

}  // namespace

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
  dist::Communicator* const sync = sync_of(args);
  Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
  Tensor mean = Tensor::empty({c}, DType::F32, x.device());
  Tensor invstd = Tensor::empty({c}, DType::F32, x.device());
  if (sync) {
    synced_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, args, *sync);
  } else if (args.training) {
    MX_DISPATCH(x.device(), batch_norm_train_forward, y.data<float>(), mean.data<float>(), invstd.data<float>(),
                running_mean.data<float>(), running_var.data<float>(), x.data<float>(), gamma.data<float>(),
                beta.data<float>(), n, c, hw, args.momentum, args.eps, args.relu);
  } else {
    MX_DISPATCH(x.device(), batch_norm_eval_forward, y.data<float>(), mean.data<float>(), invstd.data<float>(),
                x.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
                running_var.data<float>(), n, c, hw, args.eps, args.relu);
  }
  if (needs_grad({&x, &gamma, &beta})) {
    const bool need_x = x.requires_grad(), training = args.training;
    Tensor xs = x.detach(), gs = gamma.detach(), relu_out = args.relu ? y.detach() : Tensor();
    record(y, args.relu ? "batch_norm2d_relu" : "batch_norm2d", {x, gamma, beta},
           [=](const Tensor& gy) -> std::vector<Tensor> {
      const float* mask = detail::data_or_null(relu_out);
      Tensor gx = detail::grad_buffer(need_x, xs);
      Tensor ggamma = Tensor::empty({c}, DType::F32, gy.device());
      Tensor gbeta = Tensor::empty({c}, DType::F32, gy.device());
      if (sync) {
        synced_backward(gx, ggamma, gbeta, gy, xs, gs, mean, invstd, mask, *sync);
      } else {
        MX_DISPATCH(gy.device(), batch_norm_backward, detail::data_or_null(gx), ggamma.data<float>(),
                    gbeta.data<float>(), gy.data<float>(), xs.data<float>(), gs.data<float>(), mean.data<float>(),
                    invstd.data<float>(), n, c, hw, training, mask);
      }
      return {gx, ggamma, gbeta};
    });
  }
  return y;
}

}  // namespace mx::ops
