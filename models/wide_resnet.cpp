// WRN-28-10 (Zagoruyko & Komodakis, "Wide Residual Networks") with the module names, shapes and forward pass
// of xternalz/WideResNet-pytorch's WideResNet, dropout 0: conv1, block1..3.layer.N (bn1, conv1, bn2, conv2,
// convShortcut where the width changes), bn1, fc. A global average pool replaces avg_pool2d(8) (identical at
// 32x32).
#include "models/builders.h"

namespace mx::models {

namespace {

using nn::BatchNorm2d;
using nn::Conv2d;

// Pre-activation block of two 3x3 convolutions. Where the width changes, the 1x1 shortcut convolution
// sees the pre-activated input relu(bn1(x)), as in the reference code.
class WideBasicBlock : public nn::Module {
 public:
  WideBasicBlock(int in_planes, int out_planes, int stride, bool zero_last_bn) {
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(in_planes));
    conv1_ = register_module("conv1",
                             std::make_shared<Conv2d>(in_planes, out_planes, 3, ops::Conv2dArgs{stride, 1}, false));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(out_planes));
    if (zero_last_bn) bn2_->weight.zero();
    conv2_ = register_module("conv2",
                             std::make_shared<Conv2d>(out_planes, out_planes, 3, ops::Conv2dArgs{1, 1}, false));
    if (in_planes != out_planes)
      shortcut_ = register_module(
          "convShortcut", std::make_shared<Conv2d>(in_planes, out_planes, 1, ops::Conv2dArgs{stride, 0}, false));
  }

  Tensor forward(const Tensor& x) override {
    Tensor a = bn1_->forward_relu(x);
    Tensor out = (*conv2_)(bn2_->forward_relu((*conv1_)(a)));
    return ops::add(out, shortcut_ ? (*shortcut_)(a) : x);
  }

 private:
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<Conv2d> conv1_, conv2_, shortcut_;
};

// xternalz's NetworkBlock: a module whose only child is the Sequential "layer".
class NetworkBlock : public nn::Module {
 public:
  NetworkBlock(int blocks, int in_planes, int out_planes, int stride, bool zero_last_bn) {
    layer_ = register_module("layer", std::make_shared<nn::Sequential>());
    for (int i = 0; i < blocks; ++i)
      layer_->push_back(std::make_shared<WideBasicBlock>(i == 0 ? in_planes : out_planes, out_planes,
                                                         i == 0 ? stride : 1, zero_last_bn));
  }
  Tensor forward(const Tensor& x) override { return (*layer_)(x); }

 private:
  std::shared_ptr<nn::Sequential> layer_;
};

class WideResNet : public nn::Module {
 public:
  WideResNet(const WideResNetConfig& cfg, const ModelSpec& spec) {
    MX_CHECK((cfg.depth - 4) % 6 == 0, "Wide ResNet: depth ", cfg.depth, " is not 6n + 4");
    std::mt19937 rng = init_rng(spec.seed);
    conv1_ = register_module("conv1",
                             std::make_shared<Conv2d>(spec.in_channels, 16, 3, ops::Conv2dArgs{1, 1}, false));
    int in = 16;
    for (int i = 0; i < 3; ++i) {
      const int out = (16 << i) * cfg.widen_factor;
      blocks_.push_back(register_module("block" + std::to_string(i + 1),
                                        std::make_shared<NetworkBlock>((cfg.depth - 4) / 6, in, out, i == 0 ? 1 : 2,
                                                                       spec.zero_init_residual)));
      in = out;
    }
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(in));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(in, spec.num_classes, true, rng));
    if (spec.initialise) reference_init(*this, rng);
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = (*conv1_)(x);
    for (auto& block : blocks_) out = (*block)(out);
    return (*fc_)(ops::global_avg_pool(bn1_->forward_relu(out)));
  }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::vector<std::shared_ptr<NetworkBlock>> blocks_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace

std::shared_ptr<nn::Module> wide_resnet(const WideResNetConfig& cfg, const ModelSpec& spec) {
  return std::make_shared<WideResNet>(cfg, spec);
}

std::shared_ptr<nn::Module> wrn_28_10(const ModelSpec& spec) { return wide_resnet({28, 10}, spec); }

}  // namespace mx::models
