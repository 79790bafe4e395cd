// PreAct ResNet-18 as kuangliu/pytorch-cifar's PreActResNet18: same modules, names, shapes and forward
// pass. A global average pool replaces avg_pool2d(4) (identical at 32x32) so 28x28 inputs work too.
#include "models/builders.h"

namespace mx::models {

namespace {

using nn::BatchNorm2d;
using nn::Conv2d;

class PreActBlock : public nn::Module {
 public:
  PreActBlock(int in_planes, int planes, int stride, std::mt19937& rng) {
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(in_planes));
    conv1_ = register_module("conv1",
                             std::make_shared<Conv2d>(in_planes, planes, 3, ops::Conv2dArgs{stride, 1}, false, rng));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
    conv2_ = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, ops::Conv2dArgs{1, 1}, false, rng));
    if (stride != 1 || in_planes != planes) {
      shortcut_ = register_module("shortcut", std::make_shared<nn::Sequential>());
      shortcut_->push_back(std::make_shared<Conv2d>(in_planes, planes, 1, ops::Conv2dArgs{stride, 0}, false, rng));
    }
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = bn1_->forward_relu(x);
    Tensor shortcut = shortcut_ ? (*shortcut_)(out) : x;
    out = (*conv1_)(out);
    out = (*conv2_)(bn2_->forward_relu(out));
    return ops::add(out, shortcut);
  }

 private:
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::Sequential> shortcut_;
};

class PreActResNet18 : public nn::Module {
 public:
  explicit PreActResNet18(const ModelSpec& spec) {
    std::mt19937 rng = init_rng(spec.seed);
    conv1_ = register_module("conv1",
                             std::make_shared<Conv2d>(spec.in_channels, 64, 3, ops::Conv2dArgs{1, 1}, false, rng));
    const int planes[4] = {64, 128, 256, 512};
    const int strides[4] = {1, 2, 2, 2};
    int in_planes = 64;
    for (int i = 0; i < 4; ++i) {
      auto layer = register_module("layer" + std::to_string(i + 1), std::make_shared<nn::Sequential>());
      layer->push_back(std::make_shared<PreActBlock>(in_planes, planes[i], strides[i], rng));
      layer->push_back(std::make_shared<PreActBlock>(planes[i], planes[i], 1, rng));
      in_planes = planes[i];
      layers_.push_back(layer);
    }
    linear_ = register_module("linear", std::make_shared<nn::Linear>(512, spec.num_classes, true, rng));
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = (*conv1_)(x);
    for (auto& layer : layers_) out = (*layer)(out);
    return (*linear_)(ops::global_avg_pool(out));
  }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::vector<std::shared_ptr<nn::Sequential>> layers_;
  std::shared_ptr<nn::Linear> linear_;
};

}  // namespace

std::shared_ptr<nn::Module> preact_resnet18(const ModelSpec& spec) { return std::make_shared<PreActResNet18>(spec); }

}  // namespace mx::models
