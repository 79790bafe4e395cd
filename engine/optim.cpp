// SGD over a ParameterStore's flat buffers (one fused kernel call per step) and the learning-rate
// schedules.
#include "engine/optim.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "kernels/sgd.h"

namespace mx::optim {

Sgd::Sgd(ParameterStore& store, const SgdOptions& opt)
    : store_(store), opt_(opt), buf_(Tensor::zeros({store.size()}, DType::F32, store.params().device())) {
  MX_CHECK(opt.momentum >= 0.f && opt.weight_decay >= 0.f, "SGD: momentum ", opt.momentum,
           " and weight decay ", opt.weight_decay, " must not be negative");
  MX_CHECK(!opt.nesterov || opt.momentum > 0.f, "SGD: Nesterov momentum needs momentum > 0");
}

void Sgd::step(float lr) {
  Tensor& w = store_.params();
  MX_DISPATCH(w.device(), sgd_step, w.data<float>(), store_.grads().data<float>(), buf_.data<float>(), w.numel(),
              lr, opt_.momentum, opt_.weight_decay, opt_.nesterov, steps_ == 0);
  ++steps_;
}

nn::NamedTensors Sgd::state(checkpoint::Metadata& meta) {
  meta["steps"] = std::to_string(steps_);
  return {{"momentum", buf_}};
}

void Sgd::load_state(const checkpoint::File& f, const std::string& path) {
  MX_CHECK(f.tensors.size() == 1 && f.tensors[0].first == "momentum" && f.tensors[0].second.numel() == buf_.numel(),
           path, ": momentum buffer does not match the model");
  try {
    steps_ = std::stoll(f.meta.at("steps"));
  } catch (const std::exception&) {
    MX_FAIL(path, ": metadata lacks a step count (\"steps\")");
  }
  buf_.copy_from(f.tensors[0].second);
}

float LrSchedule::at(double epoch) const {
  double lr = base_lr;
  for (double m : milestones)
    if (epoch >= m) lr *= gamma;
  if (warmup_epochs > 0 && epoch < warmup_epochs) lr *= std::max(epoch, 0.0) / warmup_epochs;
  return static_cast<float>(lr);
}

}  // namespace mx::optim
