// DenseNet-BC for 32x32 inputs (Huang et al.) in the layout of the memory-efficient implementation the
// paper used (Pleiss et al., efficient_densenet_pytorch, small_inputs=True): features.conv0 (3x3,
// 2k channels), denseblockB.denselayerL.{norm1, conv1 (1x1, 4k), norm2, conv2 (3x3, k)},
// transitionB.{norm, conv (1x1, compression 0.5), avg pool 2}, features.norm_final and relu_final (no
// state, so the names stay the reference's), global average pool and classifier. Memory-efficient mode
// recomputes each layer's concatenation, norm1, ReLU and conv1 in backward (engine/autograd.h
// recompute_in_backward) instead of storing them, so a block keeps O(L) feature maps instead of O(L^2).
#include "engine/autograd.h"
#include "models/builders.h"

namespace mx::models {

namespace {

using nn::BatchNorm2d;
using nn::Conv2d;

struct DenseNetConfig {
  int growth_rate;
  int layers_per_block;  // (depth - 4) / 6 for DenseNet-BC
};

class DenseLayer : public nn::Module {
 public:
  DenseLayer(int in_features, int growth, bool efficient) : efficient_(efficient) {
    norm1_ = register_module("norm1", std::make_shared<BatchNorm2d>(in_features));
    conv1_ = register_module("conv1", std::make_shared<Conv2d>(in_features, 4 * growth, 1, ops::Conv2dArgs{1, 0}, false));
    norm2_ = register_module("norm2", std::make_shared<BatchNorm2d>(4 * growth));
    conv2_ = register_module("conv2", std::make_shared<Conv2d>(4 * growth, growth, 3, ops::Conv2dArgs{1, 1}, false));
  }

  // The layer's new feature maps from all the maps before it.
  Tensor features(const std::vector<Tensor>& previous) {
    const Tensor bottleneck = efficient_ ? recompute_in_backward([this](const auto& xs) { return compress(xs); }, previous)
                                         : compress(previous);
    return (*conv2_)(norm2_->forward_relu(bottleneck));
  }

  Tensor forward(const Tensor& x) override { return features({x}); }

 private:
  Tensor compress(const std::vector<Tensor>& previous) {
    return (*conv1_)(norm1_->forward_relu(ops::concat_channels(previous)));
  }

  bool efficient_;
  std::shared_ptr<BatchNorm2d> norm1_, norm2_;
  std::shared_ptr<Conv2d> conv1_, conv2_;
};

class DenseBlock : public nn::Module {
 public:
  DenseBlock(int in_features, const DenseNetConfig& cfg, bool efficient) {
    for (int l = 0; l < cfg.layers_per_block; ++l)
      layers_.push_back(register_module("denselayer" + std::to_string(l + 1),
                                        std::make_shared<DenseLayer>(in_features + l * cfg.growth_rate,
                                                                     cfg.growth_rate, efficient)));
  }

  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> maps{x};
    for (auto& layer : layers_) maps.push_back(layer->features(maps));
    return ops::concat_channels(maps);
  }

 private:
  std::vector<std::shared_ptr<DenseLayer>> layers_;
};

class Transition : public nn::Module {
 public:
  Transition(int in_features, int out_features) {
    norm_ = register_module("norm", std::make_shared<BatchNorm2d>(in_features));
    conv_ = register_module("conv", std::make_shared<Conv2d>(in_features, out_features, 1, ops::Conv2dArgs{1, 0}, false));
  }

  Tensor forward(const Tensor& x) override { return ops::avg_pool2d((*conv_)(norm_->forward_relu(x)), 2, 2); }

 private:
  std::shared_ptr<BatchNorm2d> norm_;
  std::shared_ptr<Conv2d> conv_;
};

class DenseNet : public nn::Module {
 public:
  DenseNet(const DenseNetConfig& cfg, const ModelSpec& spec) {
    std::mt19937 rng = init_rng(spec.seed);
    int features = 2 * cfg.growth_rate;
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    features_->add("conv0", std::make_shared<Conv2d>(spec.in_channels, features, 3, ops::Conv2dArgs{1, 1}, false));
    for (int b = 1; b <= 3; ++b) {
      features_->add("denseblock" + std::to_string(b),
                           std::make_shared<DenseBlock>(features, cfg, spec.memory_efficient));
      features += cfg.layers_per_block * cfg.growth_rate;
      if (b == 3) break;
      features_->add("transition" + std::to_string(b), std::make_shared<Transition>(features, features / 2));
      features /= 2;
    }
    features_->add("norm_final", std::make_shared<BatchNorm2d>(features));
    features_->add("relu_final", std::make_shared<nn::ReLU>());  // no state: torch applies it after `features`
    classifier_ = register_module("classifier", std::make_shared<nn::Linear>(features, spec.num_classes, true, rng));
    if (spec.initialise) reference_init(*this, rng);
    classifier_->bias.zero();
  }

  Tensor forward(const Tensor& x) override {
    return (*classifier_)(ops::global_avg_pool((*features_)(x)));
  }

 private:
  std::shared_ptr<nn::Sequential> features_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace

std::shared_ptr<nn::Module> densenet_bc100(const ModelSpec& spec) { return std::make_shared<DenseNet>(DenseNetConfig{12, 16}, spec); }
std::shared_ptr<nn::Module> densenet_bc190(const ModelSpec& spec) { return std::make_shared<DenseNet>(DenseNetConfig{40, 31}, spec); }

}  // namespace mx::models
