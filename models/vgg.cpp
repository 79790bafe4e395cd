// pytorch-cifar's VGG('VGG11') with batch norm, and the conv stack it is built from. The final
// AvgPool2d(1, 1) of pytorch-cifar becomes a global average pool so 28x28 inputs work.
#include "models/builders.h"

namespace mx::models {

namespace {

class ConvStack : public nn::Module {
 public:
  ConvStack(const std::vector<int>& cfg, bool conv_bias, const ModelSpec& spec) {
    std::mt19937 rng = init_rng(spec.seed);
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    int in = spec.in_channels;
    for (int c : cfg) {
      if (c == kPool) {
        features_->push_back(std::make_shared<nn::MaxPool2d>(2, 2));
        continue;
      }
      features_->push_back(std::make_shared<nn::Conv2d>(in, c, 3, ops::Conv2dArgs{1, 1}, conv_bias, rng));
      features_->push_back(std::make_shared<nn::BatchNorm2d>(c));
      features_->push_back(std::make_shared<nn::ReLU>());
      in = c;
    }
    features_->push_back(std::make_shared<nn::GlobalAvgPool>());
    classifier_ = register_module("classifier", std::make_shared<nn::Linear>(in, spec.num_classes, true, rng));
  }

  Tensor forward(const Tensor& x) override { return (*classifier_)((*features_)(x)); }

 private:
  std::shared_ptr<nn::Sequential> features_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace

std::shared_ptr<nn::Module> conv_stack(const std::vector<int>& cfg, bool conv_bias, const ModelSpec& spec) {
  return std::make_shared<ConvStack>(cfg, conv_bias, spec);
}

std::shared_ptr<nn::Module> vgg11(const ModelSpec& spec) {
  return conv_stack({64, kPool, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool}, true, spec);
}

}  // namespace mx::models
