// ResNet-50/101 and ResNeXt-101 64x4d in torchvision's ImageNet layout (torchvision.models.resnet): same
// modules, state_dict names, shapes and forward pass. Bottleneck v1.5 (the stride on the 3x3 convolution),
// stem conv 7x7/2 + batch norm + ReLU + max pool 3x3/2 (padding 1), global average pool, fc.
#include "models/builders.h"

namespace mx::models {

namespace {

using nn::BatchNorm2d;
using nn::Conv2d;

constexpr int kExpansion = 4;

// torchvision's Bottleneck: 1x1 to `width`, grouped 3x3 with the stride, 1x1 to planes * 4; a "downsample"
// Sequential(1x1 conv, batch norm) where the shape changes.
class Bottleneck : public nn::Module {
 public:
  Bottleneck(int in_planes, int planes, int stride, const ResNetConfig& cfg, bool zero_last_bn) {
    const int width = planes * cfg.width_per_group / 64 * cfg.groups;
    const int out = planes * kExpansion;
    conv1_ = register_module("conv1", std::make_shared<Conv2d>(in_planes, width, 1, ops::Conv2dArgs{1, 0}, false));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(width));
    conv2_ = register_module(
        "conv2", std::make_shared<Conv2d>(width, width, 3, ops::Conv2dArgs{stride, 1, cfg.groups}, false));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(width));
    conv3_ = register_module("conv3", std::make_shared<Conv2d>(width, out, 1, ops::Conv2dArgs{1, 0}, false));
    bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(out));
    if (zero_last_bn) bn3_->weight.zero();
    if (stride != 1 || in_planes != out) {
      downsample_ = register_module("downsample", std::make_shared<nn::Sequential>());
      downsample_->push_back(std::make_shared<Conv2d>(in_planes, out, 1, ops::Conv2dArgs{stride, 0}, false));
      downsample_->push_back(std::make_shared<BatchNorm2d>(out));
    }
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = bn1_->forward_relu((*conv1_)(x));
    out = bn2_->forward_relu((*conv2_)(out));
    out = (*bn3_)((*conv3_)(out));
    return ops::relu(ops::add(out, downsample_ ? (*downsample_)(x) : x));
  }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_, bn3_;
  std::shared_ptr<nn::Sequential> downsample_;
};

class ResNet : public nn::Module {
 public:
  ResNet(const ResNetConfig& cfg, const ModelSpec& spec) {
    std::mt19937 rng = init_rng(spec.seed);
    conv1_ = register_module(
        "conv1", std::make_shared<Conv2d>(spec.in_channels, 64, 7, ops::Conv2dArgs{2, 3}, false));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(64));
    int in_planes = 64;
    for (int i = 0; i < 4; ++i) {
      const int planes = 64 << i;
      auto layer = register_module("layer" + std::to_string(i + 1), std::make_shared<nn::Sequential>());
      for (int b = 0; b < cfg.blocks[i]; ++b) {
        const int stride = i > 0 && b == 0 ? 2 : 1;
        layer->push_back(std::make_shared<Bottleneck>(in_planes, planes, stride, cfg, spec.zero_init_residual));
        in_planes = planes * kExpansion;
      }
      layers_.push_back(layer);
    }
    fc_ = register_module("fc", std::make_shared<nn::Linear>(in_planes, spec.num_classes, true, rng));
    if (spec.initialise) reference_init(*this, rng);
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = ops::max_pool2d(bn1_->forward_relu((*conv1_)(x)), 3, 2, 1);
    for (auto& layer : layers_) out = (*layer)(out);
    return (*fc_)(ops::global_avg_pool(out));
  }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::vector<std::shared_ptr<nn::Sequential>> layers_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace

std::shared_ptr<nn::Module> resnet(const ResNetConfig& cfg, const ModelSpec& spec) {
  return std::make_shared<ResNet>(cfg, spec);
}

std::shared_ptr<nn::Module> resnet50(const ModelSpec& spec) { return resnet({{3, 4, 6, 3}, 1, 64}, spec); }
std::shared_ptr<nn::Module> resnet101(const ModelSpec& spec) { return resnet({{3, 4, 23, 3}, 1, 64}, spec); }
std::shared_ptr<nn::Module> resnext101_64x4d(const ModelSpec& spec) { return resnet({{3, 4, 23, 3}, 64, 4}, spec); }

}  // namespace mx::models
