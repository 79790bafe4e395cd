// nn modules: registration and PyTorch-ordered traversal of parameters and buffers, PyTorch's default
// initialisation, and the forward passes of the layers.
#include "engine/nn.h"

#include <cmath>

#include "engine/autograd.h"

namespace mx::nn {

namespace {

// U(-bound, bound) from the top 24 bits of each draw, so a seed gives the same weights with any
// standard library (std::uniform_real_distribution is implementation-defined).
Tensor uniform(const Shape& shape, float bound, std::mt19937& rng) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    float u = static_cast<float>(rng() >> 8) * (1.0f / 16777216.0f);  // [0, 1)
    p[i] = (2.0f * u - 1.0f) * bound;
  }
  return t;
}

// kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + a^2)) times sqrt(3 / fan_in), i.e. 1 / sqrt(fan_in);
// PyTorch draws biases from the same bound.
float default_init_bound(int64_t fan_in) {
  const double a = std::sqrt(5.0);
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  return static_cast<float>(gain * std::sqrt(3.0 / static_cast<double>(fan_in)));
}

}  // namespace

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  t.set_requires_grad(true);
  params_.emplace_back(name, std::move(t));
  return params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::move(t));
  return buffers_.back().second;
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  if (buffers)
    for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

void Module::for_each_module(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& child : children_) child.second->for_each_module(fn);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& child : children_) child.second->train(on);
}

Conv2d::Conv2d(int in_ch, int out_ch, int kernel, const ops::Conv2dArgs& conv_args, bool has_bias)
    : args(conv_args) {
  MX_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0 && args.groups > 0 && in_ch % args.groups == 0 &&
               out_ch % args.groups == 0,
           "Conv2d: invalid sizes in ", in_ch, " out ", out_ch, " kernel ", kernel, " groups ", args.groups);
  weight = register_parameter("weight", Tensor::zeros({out_ch, in_ch / args.groups, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", Tensor::zeros({out_ch}));
}

Conv2d::Conv2d(int in_ch, int out_ch, int kernel, const ops::Conv2dArgs& conv_args, bool has_bias,
               std::mt19937& rng)
    : Conv2d(in_ch, out_ch, kernel, conv_args, has_bias) {
  const float bound = default_init_bound(static_cast<int64_t>(in_ch / args.groups) * kernel * kernel);
  weight.copy_from(uniform(weight.shape(), bound, rng));
  if (has_bias) bias.copy_from(uniform(bias.shape(), bound, rng));
}

Tensor Conv2d::forward(const Tensor& x) { return ops::conv2d(x, weight, bias, args); }

Linear::Linear(int in_features, int out_features, bool has_bias, std::mt19937& rng) {
  MX_CHECK(in_features > 0 && out_features > 0, "Linear: invalid sizes in ", in_features, " out ", out_features);
  float bound = default_init_bound(in_features);
  weight = register_parameter("weight", uniform({out_features, in_features}, bound, rng));
  if (has_bias) bias = register_parameter("bias", uniform({out_features}, bound, rng));
}

Tensor Linear::forward(const Tensor& x) { return pass_through ? x : ops::linear(x, weight, bias); }

BatchNorm2d::BatchNorm2d(int channels, float momentum, float eps) : momentum(momentum), eps(eps) {
  MX_CHECK(channels > 0, "BatchNorm2d: invalid channel count ", channels);
  weight = register_parameter("weight", Tensor::full({channels}, 1.0f));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::full({channels}, 1.0f));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64));
}

Tensor BatchNorm2d::normalize(const Tensor& x, bool relu) {
  if (is_training() && recomputing()) {  // the first forward has already updated the running statistics
    Tensor mean = running_mean.clone(), var = running_var.clone();
    return ops::batch_norm2d(x, weight, bias, mean, var, {true, momentum, eps, sync, relu});
  }
  Tensor y =
      ops::batch_norm2d(x, weight, bias, running_mean, running_var, {is_training(), momentum, eps, sync, relu});
  if (is_training()) {
    MX_CHECK(num_batches_tracked.device() == Device::CPU, "BatchNorm2d: num_batches_tracked must stay on the host");
    ++num_batches_tracked.data<int64_t>()[0];
  }
  return y;
}

void for_each_batch_norm(Module& model, const std::function<void(BatchNorm2d&)>& fn) {
  model.for_each_module([&fn](Module& m) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&m)) fn(*bn);
  });
}

void use_sync_batch_norm(Module& model, dist::Communicator* comm) {
  for_each_batch_norm(model, [comm](BatchNorm2d& bn) { bn.sync = comm; });
}

void fuse_batch_norm_relu(Module& model, bool on) {
  for_each_batch_norm(model, [on](BatchNorm2d& bn) { bn.fuse_relu = on; });
}

void uncount_batch(Module& model) {
  for_each_batch_norm(model, [](BatchNorm2d& bn) { --bn.num_batches_tracked.data<int64_t>()[0]; });
}

Tensor MaxPool2d::forward(const Tensor& x) {
  check_dim(x, 4, "MaxPool2d", "x");
  if (x.size(2) < kernel_ || x.size(3) < kernel_) return x;
  return ops::max_pool2d(x, kernel_, stride_);
}

void Sequential::push_back(std::shared_ptr<Module> m) { add(std::to_string(layers_.size()), std::move(m)); }

void Sequential::add(const std::string& name, std::shared_ptr<Module> m) {
  register_module(name, m);
  layers_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* bn = dynamic_cast<BatchNorm2d*>(layers_[i].get());
    if (bn && i + 1 < layers_.size() && dynamic_cast<ReLU*>(layers_[i + 1].get())) {
      out = bn->forward_relu(out);
      ++i;
    } else {
      out = layers_[i]->forward(out);
    }
  }
  return out;
}

InstanceNorm2d::InstanceNorm2d(int channels, bool affine, float eps) : channels(channels), eps(eps) {
  MX_CHECK(channels > 0, "InstanceNorm2d: invalid channel count ", channels);
  if (!affine) return;
  weight = register_parameter("weight", Tensor::full({channels}, 1.0f));
  bias = register_parameter("bias", Tensor::zeros({channels}));
}

Tensor InstanceNorm2d::forward(const Tensor& x) {
  check_dim(x, 4, "InstanceNorm2d", "x");
  MX_CHECK(x.size(1) == channels, "InstanceNorm2d: expected ", channels, " channels, got x ", shape_str(x.shape()));
  return ops::instance_norm2d(x, weight, bias, eps);
}

ReflectionPad2d::ReflectionPad2d(int pad) : pad_(pad) {
  MX_CHECK(pad >= 0, "ReflectionPad2d: pad must not be negative, got ", pad);
}

ConvTranspose2d::ConvTranspose2d(int in_ch, int out_ch, int kernel, const ops::ConvTranspose2dArgs& conv_args,
                                 bool has_bias)
    : args(conv_args) {
  MX_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0 && args.groups > 0 && in_ch % args.groups == 0 &&
               out_ch % args.groups == 0,
           "ConvTranspose2d: invalid sizes in ", in_ch, " out ", out_ch, " kernel ", kernel, " groups ", args.groups);
  MX_CHECK(args.stride > 0 && args.padding >= 0 && args.output_padding >= 0 && args.output_padding < args.stride,
           "ConvTranspose2d: invalid stride ", args.stride, ", padding ", args.padding, " or output_padding ",
           args.output_padding, " (output_padding must be less than the stride)");
  weight = register_parameter("weight", Tensor::zeros({in_ch, out_ch / args.groups, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", Tensor::zeros({out_ch}));
}

ConvTranspose2d::ConvTranspose2d(int in_ch, int out_ch, int kernel, const ops::ConvTranspose2dArgs& conv_args,
                                 bool has_bias, std::mt19937& rng)
    : ConvTranspose2d(in_ch, out_ch, kernel, conv_args, has_bias) {
  const float bound = default_init_bound(weight.size(1) * kernel * kernel);
  weight.copy_from(uniform(weight.shape(), bound, rng));
  if (has_bias) bias.copy_from(uniform(bias.shape(), bound, rng));
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return ops::conv_transpose2d(x, weight, bias, args); }

}  // namespace mx::nn
