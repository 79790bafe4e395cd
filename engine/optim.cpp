// SGD and Adam over a ParameterStore's flat buffers (one fused kernel call per step), their checkpoint
// state, and the learning-rate schedules.
#include "engine/optim.h"

#include <algorithm>
#include <cmath>

#include "engine/dispatch.h"
#include "kernels/sgd.h"

namespace mx::optim {

nn::NamedTensors Optimizer::state(checkpoint::Metadata& meta) {
  meta["steps"] = std::to_string(steps_);
  return buffers();
}

void Optimizer::load_state(const checkpoint::File& f, const std::string& path) {
  int64_t steps = -1;
  try {
    steps = std::stoll(f.meta.at("steps"));
  } catch (const std::exception&) {
    MX_FAIL(path, ": metadata lacks a step count (\"steps\")");
  }
  MX_CHECK(steps >= 0, path, ": step count ", steps, " is negative");
  checkpoint::load_into(path, f, buffers());
  steps_ = steps;
}

Sgd::Sgd(ParameterStore& store, const SgdOptions& opt)
    : Optimizer(store), opt_(opt), buf_(Tensor::zeros({store.size()}, DType::F32, store.params().device())) {
  MX_CHECK(opt.momentum >= 0.f && opt.weight_decay >= 0.f, "SGD: momentum ", opt.momentum,
           " and weight decay ", opt.weight_decay, " must not be negative");
  MX_CHECK(!opt.nesterov || opt.momentum > 0.f, "SGD: Nesterov momentum needs momentum > 0");
}

void Sgd::step(float lr) { update(lr, nullptr); }

void Sgd::step_unless(float lr, const Tensor& skip) {
  check_dtype(skip, DType::F32, "Sgd::step_unless", "skip");
  MX_CHECK(skip.numel() == 1, "Sgd::step_unless: the skip flag must hold one value");
  check_same_device(skip, store_.params(), "Sgd::step_unless");
  update(lr, skip.data<float>());
}

void Sgd::update(float lr, const float* skip) {
  Tensor& w = store_.params();
  MX_DISPATCH(w.device(), sgd_step, w.data<float>(), store_.grads().data<float>(), buf_.data<float>(), w.numel(),
              lr, opt_.momentum, opt_.weight_decay, opt_.nesterov, steps_ == 0, skip);
  ++steps_;
}

Adam::Adam(ParameterStore& store, const AdamOptions& opt)
    : Optimizer(store),
      opt_(opt),
      m_(Tensor::zeros({store.size()}, DType::F32, store.params().device())),
      v_(Tensor::zeros({store.size()}, DType::F32, store.params().device())) {
  MX_CHECK(opt.beta1 >= 0.f && opt.beta1 < 1.f && opt.beta2 >= 0.f && opt.beta2 < 1.f, "Adam: betas (", opt.beta1,
           ", ", opt.beta2, ") must lie in [0, 1)");
  // eps > 0, unlike PyTorch's eps >= 0: the store's alignment gaps have zero gradients, and 0 / 0 would fill
  // them with NaN.
  MX_CHECK(opt.eps > 0.f, "Adam: eps ", opt.eps, " must be positive");
  MX_CHECK(opt.weight_decay >= 0.f, "Adam: weight decay ", opt.weight_decay, " must not be negative");
}

kernels::AdamStep adam_scalars(const AdamOptions& o, float lr, int64_t t) {
  const double b1 = o.beta1, b2 = o.beta2, td = static_cast<double>(t);
  return {static_cast<float>(lr / (1.0 - std::pow(b1, td))),
          static_cast<float>(std::sqrt(1.0 - std::pow(b2, td))),
          o.beta1,
          static_cast<float>(1.0 - b1),
          o.beta2,
          static_cast<float>(1.0 - b2),
          o.eps,
          o.weight_decay};
}

void Adam::step(float lr) {
  const kernels::AdamStep s = adam_scalars(opt_, lr, steps_ + 1);
  Tensor& w = store_.params();
  MX_DISPATCH(w.device(), adam_step, w.data<float>(), store_.grads().data<float>(), m_.data<float>(),
              v_.data<float>(), w.numel(), s);
  ++steps_;
}

float LrSchedule::at(double epoch) const {
  double lr = base_lr;
  for (double m : milestones)
    if (epoch >= m) lr *= gamma;
  if (warmup_epochs > 0 && epoch < warmup_epochs) lr *= std::max(epoch, 0.0) / warmup_epochs;
  return static_cast<float>(lr);
}

float LinearDecaySchedule::at(int epoch) const {
  MX_CHECK(epochs >= 0 && epochs_decay >= 0, "LinearDecaySchedule: epochs ", epochs, " and epochs_decay ",
           epochs_decay, " must not be negative");
  MX_CHECK(epoch >= 0 && epoch < epochs + epochs_decay, "LinearDecaySchedule: epoch ", epoch,
           " lies outside the run's epochs [0, ", epochs + epochs_decay, ")");
  const double decayed = std::max(0, epoch + 1 - epochs);
  return static_cast<float>(base_lr * (1.0 - decayed / (epochs_decay + 1)));
}

}  // namespace mx::optim
