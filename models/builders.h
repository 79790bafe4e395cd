// Internal to models/: the builders behind make_model and the pieces they share.
#pragma once
#include <memory>
#include <random>
#include <vector>

#include "engine/nn.h"
#include "models/models.h"

namespace mx::models {

// The generator that initialises a model's weights, seeded from all 64 bits of spec.seed.
std::mt19937 init_rng(uint64_t seed);

// Fills p[0, n) with draws of N(0, std_dev^2) by Marsaglia's polar method, using both normals of each
// accepted pair (the odd last element takes the first of a pair); only the generator's raw output is used.
void fill_normal(float* p, int64_t n, double std_dev, std::mt19937& rng);

// The initialisation of the reference code of the ResNet, ResNeXt, WRN and DenseNet families, applied to
// every module of `m`: convolution weights ~ N(0, 2 / fan_out) with fan_out = out_channels * kh * kw
// (kaiming_normal_, mode fan_out), convolution biases 0; batch norms keep weight 1 and bias 0, and linear
// layers PyTorch's default. Normal draws use only the generator's raw output (library-independent).
void reference_init(nn::Module& m, std::mt19937& rng);

// A "features" Sequential of [Conv2d 3x3 pad 1, BatchNorm2d, ReLU] per channel count in `cfg` and
// MaxPool2d(2, 2) per kPool, closed by a global average pool, then a "classifier" Linear: the layout
// of pytorch-cifar's VGG.
constexpr int kPool = 0;
std::shared_ptr<nn::Module> conv_stack(const std::vector<int>& cfg, bool conv_bias, const ModelSpec& spec);

std::shared_ptr<nn::Module> preact_resnet18(const ModelSpec& spec);
std::shared_ptr<nn::Module> vgg11(const ModelSpec& spec);
std::shared_ptr<nn::Module> quicknet(const ModelSpec& spec);
std::shared_ptr<nn::Module> densenet_bc100(const ModelSpec& spec);
std::shared_ptr<nn::Module> densenet_bc190(const ModelSpec& spec);

// torchvision's ImageNet ResNet with Bottleneck blocks (models/resnet.cpp): blocks per layer, groups and
// width_per_group as torchvision's ResNet arguments.
struct ResNetConfig {
  int blocks[4];
  int groups;
  int width_per_group;
};
std::shared_ptr<nn::Module> resnet(const ResNetConfig& cfg, const ModelSpec& spec);
std::shared_ptr<nn::Module> resnet50(const ModelSpec& spec);
std::shared_ptr<nn::Module> resnet101(const ModelSpec& spec);
std::shared_ptr<nn::Module> resnext101_64x4d(const ModelSpec& spec);

// prlz77/ResNeXt.pytorch's CifarResNeXt (models/resnext_cifar.cpp); depth 9n + 2.
struct ResNeXtCifarConfig {
  int depth;
  int cardinality;
  int base_width;
  int widen_factor;
};
std::shared_ptr<nn::Module> resnext_cifar(const ResNeXtCifarConfig& cfg, const ModelSpec& spec);
std::shared_ptr<nn::Module> resnext29_8x64d(const ModelSpec& spec);

// xternalz/WideResNet-pytorch's WideResNet without dropout (models/wide_resnet.cpp); depth 6n + 4.
struct WideResNetConfig {
  int depth;
  int widen_factor;
};
std::shared_ptr<nn::Module> wide_resnet(const WideResNetConfig& cfg, const ModelSpec& spec);
std::shared_ptr<nn::Module> wrn_28_10(const ModelSpec& spec);

}  // namespace mx::models
