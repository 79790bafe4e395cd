// ParameterStore: packs every parameter of a model into one contiguous buffer and points each
// parameter's gradient into one contiguous gradient buffer, so zeroing, all-reduce and the optimizer
// update are one call each over the whole model. The F32 buffers (BatchNorm running statistics) share a
// third buffer, so that a skipped step can put them back in one call (train/step_guard.h).
#pragma once
#include <string>
#include <vector>

#include "engine/nn.h"

namespace mx {

class ParameterStore {
 public:
  // Moves the module's parameters into the flat buffer (values kept) on `dev`, each starting on a
  // kAlignment boundary; the gaps stay zero in all three buffers. The F32 buffers (BatchNorm running
  // statistics) move into buffers() on `dev` the same way; integer counters (num_batches_tracked) stay
  // on the host.
  ParameterStore(nn::Module& model, Device dev = Device::CPU);

  Tensor& params() { return params_; }  // [size()] F32
  Tensor& grads() { return grads_; }    // [size()] F32
  Tensor& buffers() { return buffers_; }  // every F32 buffer, aligned alike; [0] for a model with none
  const Tensor& buffers() const { return buffers_; }
  int64_t size() const { return params_.numel(); }  // includes the alignment gaps
  int64_t num_parameters() const;                    // the model's parameter count
  const nn::NamedTensors& named() const { return named_; }  // views into params()
  const std::vector<int64_t>& offsets() const { return offsets_; }  // of each named() view in params()
  void zero_grad();

 private:
  Tensor params_, grads_, buffers_;
  nn::NamedTensors named_;
  std::vector<int64_t> offsets_;
};

}  // namespace mx
