// nn modules: parameters and buffers under PyTorch-style dotted names, train/eval mode, and the
// layers the models are built from (Conv2d, BatchNorm2d, Linear, pooling, Sequential).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace mx::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // Registration order is the order of named_parameters(), as in PyTorch.
  NamedTensors named_parameters() const;  // "layer1.0.conv1.weight", ...
  NamedTensors named_buffers() const;     // "bn1.running_mean", "bn1.num_batches_tracked", ...
  // For each module its own parameters, then its own buffers, then its children in registration
  // order (recursively): the order and names of PyTorch's state_dict().
  NamedTensors state_dict() const;

  // Calls fn on this module and then on every descendant, in registration order.
  void for_each_module(const std::function<void(Module&)>& fn);

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Initialisation follows PyTorch's defaults: kaiming_uniform(a = sqrt(5)) for weights, and
// uniform(+-1/sqrt(fan_in)) for biases, so fresh models behave like their PyTorch twins.
class Conv2d : public Module {
 public:
  Conv2d(int in_ch, int out_ch, int kernel, const ops::Conv2dArgs& args, bool bias, std::mt19937& rng);
  // Zero weight and bias, for a caller that initialises them itself (models::reference_init).
  Conv2d(int in_ch, int out_ch, int kernel, const ops::Conv2dArgs& args, bool bias);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  ops::Conv2dArgs args;
};

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, bool bias, std::mt19937& rng);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  // While set, forward returns its input unchanged, so a network's output is the features this layer
  // would classify (models::penultimate_features).
  bool pass_through = false;
};

// weight 1, bias 0, running_mean 0, running_var 1 and num_batches_tracked (I64, shape []), which
// each training forward increments on the host, as PyTorch does (a skipped step takes it back:
// uncount_batch). A forward run again for backward (recomputing(), engine/autograd.h) normalizes
// with the batch statistics but updates nothing.
// With `sync` set, training takes its statistics over all ranks' batches (ops::BatchNormArgs::sync).
// forward_relu(x) is relu(forward(x)) in one op (ops::BatchNormArgs::relu), bit for bit the same; with
// fuse_relu false it runs the two ops (the reference that bench_train_step --fuse-bn-relu 0 times).
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override { return normalize(x, false); }
  Tensor forward_relu(const Tensor& x) { return fuse_relu ? normalize(x, true) : ops::relu(forward(x)); }
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  float momentum, eps;
  dist::Communicator* sync = nullptr;  // not owned
  bool fuse_relu = true;

 private:
  Tensor normalize(const Tensor& x, bool relu);
};

// fn(bn) for every BatchNorm2d in the model, in registration order.
void for_each_batch_norm(Module& model, const std::function<void(BatchNorm2d&)>& fn);

// Synchronized batch norm (--sync-bn): sets `sync` of every BatchNorm2d in the model to comm (null:
// back to each rank's own batch).
void use_sync_batch_norm(Module& model, dist::Communicator* comm);

// Sets fuse_relu of every BatchNorm2d in the model.
void fuse_batch_norm_relu(Module& model, bool on);

// Takes one batch off num_batches_tracked of every BatchNorm2d in the model: for a training step the
// step guard skipped, whose running statistics it put back (train/step_guard.h).
void uncount_batch(Module& model);

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::tanh(x); }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::sigmoid(x); }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float slope = 0.2f) : slope_(slope) {}
  Tensor forward(const Tensor& x) override { return ops::leaky_relu(x, slope_); }

 private:
  float slope_;
};

// Max pooling without padding. Unlike PyTorch (which raises), a map whose height or width is smaller
// than the window passes through unchanged, so the VGG feature stack also accepts 28x28 inputs.
class MaxPool2d : public Module {
 public:
  MaxPool2d(int kernel, int stride) : kernel_(kernel), stride_(stride) {}
  Tensor forward(const Tensor& x) override;

 private:
  int kernel_, stride_;
};

// Average over the whole map: [N, C, H, W] -> [N, C]. Equals avg_pool2d(H) then flatten, so a
// network ending in it accepts any input size.
class GlobalAvgPool : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::global_avg_pool(x); }
};

// Runs children in order, a BatchNorm2d directly followed by a ReLU as one op (forward_relu); children
// are named "0", "1", ... like torch.nn.Sequential, or as given to add() (torch's add_module).
class Sequential : public Module {
 public:
  void push_back(std::shared_ptr<Module> m);
  void add(const std::string& name, std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

// GAN layers (MixCycleGAN), PyTorch's state_dict names.

// torch.nn.InstanceNorm2d without running statistics: "weight" (ones) and "bias" (zeros) only when
// affine. Unlike PyTorch, which only warns, an input whose channel count is not `channels` is an error.
class InstanceNorm2d : public Module {
 public:
  explicit InstanceNorm2d(int channels, bool affine = false, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;  // undefined without affine
  int channels;
  float eps;
};

class ReflectionPad2d : public Module {
 public:
  explicit ReflectionPad2d(int pad);
  Tensor forward(const Tensor& x) override { return ops::reflection_pad2d(x, pad_); }

 private:
  int pad_;
};

// weight [in_ch, out_ch / groups, kernel, kernel]. The rng constructor follows PyTorch's default init,
// where fan_in is weight.size(1) * kernel * kernel (out_ch / groups, not in_ch, for a transposed conv).
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int in_ch, int out_ch, int kernel, const ops::ConvTranspose2dArgs& args, bool bias,
                  std::mt19937& rng);
  // Zero weight and bias, for a caller that initialises them itself.
  ConvTranspose2d(int in_ch, int out_ch, int kernel, const ops::ConvTranspose2dArgs& args, bool bias);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  ops::ConvTranspose2dArgs args;
};

}  // namespace mx::nn
