// Optimizer and learning-rate schedules. SGD follows torch.optim.SGD exactly (dampening 0):
// g = grad + wd * w; buf = momentum * buf + g (buf = g on the first step); step = nesterov ? g + momentum * buf
// : buf; w -= lr * step. It updates the flat parameter buffer of a ParameterStore in one call.
#pragma once
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/parameters.h"
#include "kernels/adam.h"

namespace mx::optim {

struct SgdOptions {
  float momentum = 0.9f;
  float weight_decay = 1e-4f;
  bool nesterov = true;
};

// An optimizer over the flat buffers of a ParameterStore: what the trainers and the run directory hold.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step(float lr) = 0;  // one update with this step's learning rate
  int64_t steps() const { return steps_; }

  // Its state for a training checkpoint: its buffers and, in `meta`, the step count ("steps").
  virtual nn::NamedTensors state(checkpoint::Metadata& meta);
  // Restores what state() saved; throws naming `path` when the file does not fit this model.
  virtual void load_state(const checkpoint::File& f, const std::string& path);

 protected:
  explicit Optimizer(ParameterStore& store) : store_(store) {}
  // The buffers state() saves, by name, as views (load_state writes into them).
  virtual nn::NamedTensors buffers() = 0;

  ParameterStore& store_;
  int64_t steps_ = 0;
};

class Sgd : public Optimizer {
 public:
  Sgd(ParameterStore& store, const SgdOptions& opt);
  void step(float lr) override;
  // The same update, unless the device flag `skip` (one F32 on the parameters' device, a step guard's,
  // kernels/step_guard.h) is non-zero when it runs: then the weights and the momentum stay exactly as
  // they are. The host does not wait to learn which, so steps() counts skipped steps too (harmless:
  // the momentum buffer starts at zero, so a first update after skipped ones is a first update).
  void step_unless(float lr, const Tensor& skip);

 private:
  void update(float lr, const float* skip);

  nn::NamedTensors buffers() override { return {{"momentum", buf_}}; }

  SgdOptions opt_;
  Tensor buf_;
};

// Learning rate at a fractional epoch: multi-step decay by `gamma` at each milestone epoch, after an
// optional linear warm-up from 0 over `warmup_epochs`.
struct LrSchedule {
  float base_lr = 0.1f;
  std::vector<double> milestones;  // epochs, ascending
  float gamma = 0.1f;
  double warmup_epochs = 0;
  float at(double epoch) const;
};

// Adam with torch.optim.Adam semantics (amsgrad off, weight decay added to the gradient, not decoupled):
// g += wd * w; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; at step t (1-based)
// w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). One fused kernel (kernels/adam.h)
// per step over the flat buffers; its checkpoint state is "exp_avg" (m), "exp_avg_sq" (v) and "steps".
struct AdamOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
};

// The scalars of step t (1-based) for the fused kernel: bias corrections and 1 - beta in double.
kernels::AdamStep adam_scalars(const AdamOptions& opt, float lr, int64_t t);

class Adam : public Optimizer {
 public:
  Adam(ParameterStore& store, const AdamOptions& opt);
  void step(float lr) override;

 private:
  nn::NamedTensors buffers() override { return {{"exp_avg", m_}, {"exp_avg_sq", v_}}; }

  AdamOptions opt_;
  Tensor m_, v_;
};

// CycleGAN's learning rate (junyanz/pytorch-CycleGAN-and-pix2pix, lr_policy "linear", epoch_count 1) at
// a 0-based epoch of a run of epochs + epochs_decay epochs: base_lr for epoch < epochs, then
//   base_lr * (1 - (epoch + 1 - epochs) / (epochs_decay + 1)),
// which falls linearly to base_lr / (epochs_decay + 1) at the last epoch. Epochs outside the run throw.
struct LinearDecaySchedule {
  float base_lr = 2e-4f;
  int epochs = 100;
  int epochs_decay = 100;
  float at(int epoch) const;
};

}  // namespace mx::optim
