// Optimizer and learning-rate schedules. SGD follows torch.optim.SGD exactly (dampening 0):
// g = grad + wd * w; buf = momentum * buf + g (buf = g on the first step); step = nesterov ? g + momentum * buf
// : buf; w -= lr * step. It updates the flat parameter buffer of a ParameterStore in one call.
#pragma once
#include <vector>

#include "engine/checkpoint.h"
#include "engine/parameters.h"

namespace mx::optim {

struct SgdOptions {
  float momentum = 0.9f;
  float weight_decay = 1e-4f;
  bool nesterov = true;
};

class Sgd {
 public:
  Sgd(ParameterStore& store, const SgdOptions& opt);
  void step(float lr);                   // one update with this step's learning rate
  int64_t steps() const { return steps_; }

  // Its state for a training checkpoint: the momentum buffer and, in `meta`, the step count.
  nn::NamedTensors state(checkpoint::Metadata& meta);
  // Restores what state() saved; throws naming `path` when the file does not fit this model.
  void load_state(const checkpoint::File& f, const std::string& path);

 private:
  ParameterStore& store_;
  SgdOptions opt_;
  Tensor buf_;
  int64_t steps_ = 0;
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

}  // namespace mx::optim
