// ResNeXt-29 8x64d for CIFAR (Xie et al., "Aggregated Residual Transformations", Sec. 5.3) with the module
// names, shapes and forward pass of prlz77/ResNeXt.pytorch's CifarResNeXt: conv_1_3x3 + bn_1, three stages
// of bottlenecks (conv_reduce, conv_conv grouped, conv_expand; shortcut.shortcut_conv/shortcut_bn where the
// width changes), classifier. A global average pool replaces avg_pool2d(8) (identical at 32x32).
#include "models/builders.h"

namespace mx::models {

namespace {

using nn::BatchNorm2d;
using nn::Conv2d;

class ResNeXtBottleneck : public nn::Module {
 public:
  ResNeXtBottleneck(int in_channels, int out_channels, int stride, const ResNeXtCifarConfig& cfg, bool zero_last_bn) {
    // D = cardinality * base_width * (out_channels / (widen_factor * 64)), as CifarResNeXt computes it.
    const int d = cfg.cardinality * (cfg.base_width * out_channels / (cfg.widen_factor * 64));
    conv_reduce_ = register_module("conv_reduce",
                                   std::make_shared<Conv2d>(in_channels, d, 1, ops::Conv2dArgs{1, 0}, false));
    bn_reduce_ = register_module("bn_reduce", std::make_shared<BatchNorm2d>(d));
    conv_conv_ = register_module(
        "conv_conv", std::make_shared<Conv2d>(d, d, 3, ops::Conv2dArgs{stride, 1, cfg.cardinality}, false));
    bn_ = register_module("bn", std::make_shared<BatchNorm2d>(d));
    conv_expand_ = register_module("conv_expand",
                                   std::make_shared<Conv2d>(d, out_channels, 1, ops::Conv2dArgs{1, 0}, false));
    bn_expand_ = register_module("bn_expand", std::make_shared<BatchNorm2d>(out_channels));
    if (zero_last_bn) bn_expand_->weight.zero();
    if (in_channels != out_channels) {
      shortcut_ = register_module("shortcut", std::make_shared<nn::Sequential>());
      shortcut_->add("shortcut_conv",
                     std::make_shared<Conv2d>(in_channels, out_channels, 1, ops::Conv2dArgs{stride, 0}, false));
      shortcut_->add("shortcut_bn", std::make_shared<BatchNorm2d>(out_channels));
    }
  }

  Tensor forward(const Tensor& x) override {
    Tensor y = bn_reduce_->forward_relu((*conv_reduce_)(x));
    y = bn_->forward_relu((*conv_conv_)(y));
    y = (*bn_expand_)((*conv_expand_)(y));
    return ops::relu(ops::add(shortcut_ ? (*shortcut_)(x) : x, y));
  }

 private:
  std::shared_ptr<Conv2d> conv_reduce_, conv_conv_, conv_expand_;
  std::shared_ptr<BatchNorm2d> bn_reduce_, bn_, bn_expand_;
  std::shared_ptr<nn::Sequential> shortcut_;
};

class CifarResNeXt : public nn::Module {
 public:
  CifarResNeXt(const ResNeXtCifarConfig& cfg, const ModelSpec& spec) {
    MX_CHECK((cfg.depth - 2) % 9 == 0, "CIFAR ResNeXt: depth ", cfg.depth, " is not 9n + 2");
    std::mt19937 rng = init_rng(spec.seed);
    conv_ = register_module("conv_1_3x3",
                            std::make_shared<Conv2d>(spec.in_channels, 64, 3, ops::Conv2dArgs{1, 1}, false));
    bn_ = register_module("bn_1", std::make_shared<BatchNorm2d>(64));
    int in = 64;
    for (int i = 0; i < 3; ++i) {
      const std::string name = "stage_" + std::to_string(i + 1);
      auto stage = register_module(name, std::make_shared<nn::Sequential>());
      const int out = (64 << i) * cfg.widen_factor;
      for (int b = 0; b < (cfg.depth - 2) / 9; ++b) {
        const int stride = i > 0 && b == 0 ? 2 : 1;
        stage->add(name + "_bottleneck_" + std::to_string(b),
                   std::make_shared<ResNeXtBottleneck>(in, out, stride, cfg, spec.zero_init_residual));
        in = out;
      }
      stages_.push_back(stage);
    }
    classifier_ = register_module("classifier", std::make_shared<nn::Linear>(in, spec.num_classes, true, rng));
    if (spec.initialise) reference_init(*this, rng);
  }

  Tensor forward(const Tensor& x) override {
    Tensor out = bn_->forward_relu((*conv_)(x));
    for (auto& stage : stages_) out = (*stage)(out);
    return (*classifier_)(ops::global_avg_pool(out));
  }

 private:
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;
  std::vector<std::shared_ptr<nn::Sequential>> stages_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace

std::shared_ptr<nn::Module> resnext_cifar(const ResNeXtCifarConfig& cfg, const ModelSpec& spec) {
  return std::make_shared<CifarResNeXt>(cfg, spec);
}

std::shared_ptr<nn::Module> resnext29_8x64d(const ModelSpec& spec) { return resnext_cifar({29, 8, 64, 4}, spec); }

}  // namespace mx::models
