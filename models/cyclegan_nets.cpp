// The ResNet generator and PatchGAN discriminator of CycleGAN (models/cyclegan_nets.h), module by module
// as junyanz/pytorch-CycleGAN-and-pix2pix builds them with norm_layer = InstanceNorm2d.
#include "models/cyclegan_nets.h"

#include <algorithm>

#include "models/builders.h"

namespace mx::models {

namespace {

using nn::Conv2d;
using nn::Sequential;

constexpr double kInitStd = 0.02;

std::shared_ptr<Conv2d> conv(int in, int out, int kernel, int stride, int padding) {
  return std::make_shared<Conv2d>(in, out, kernel, ops::Conv2dArgs{stride, padding}, true);
}

std::shared_ptr<nn::InstanceNorm2d> norm(int channels) { return std::make_shared<nn::InstanceNorm2d>(channels); }

// The reference's ResnetBlock: x + [pad 1, conv 3x3, norm, ReLU, pad 1, conv 3x3, norm](x).
class ResnetBlock : public nn::Module {
 public:
  explicit ResnetBlock(int dim) {
    block_ = register_module("conv_block", std::make_shared<Sequential>());
    for (int half = 0; half < 2; ++half) {
      block_->push_back(std::make_shared<nn::ReflectionPad2d>(1));
      block_->push_back(conv(dim, dim, 3, 1, 0));
      block_->push_back(norm(dim));
      if (half == 0) block_->push_back(std::make_shared<nn::ReLU>());
    }
  }
  Tensor forward(const Tensor& x) override { return ops::add(x, (*block_)(x)); }

 private:
  std::shared_ptr<Sequential> block_;
};

// A Sequential named "model", as the reference's generator and discriminator hold their layers.
class Wrapped : public nn::Module {
 public:
  Wrapped() { model_ = register_module("model", std::make_shared<Sequential>()); }
  Sequential& model() { return *model_; }
  Tensor forward(const Tensor& x) override { return (*model_)(x); }

 private:
  std::shared_ptr<Sequential> model_;
};

// init_weights(init_type="normal", gain 0.02): every convolution's weight N(0, 0.02), bias 0.
void normal_init(nn::Module& m, uint64_t seed) {
  std::mt19937 rng = init_rng(seed);
  m.for_each_module([&rng](nn::Module& child) {
    Tensor* weight = nullptr;
    Tensor* bias = nullptr;
    if (auto* c = dynamic_cast<nn::Conv2d*>(&child)) weight = &c->weight, bias = &c->bias;
    if (auto* t = dynamic_cast<nn::ConvTranspose2d*>(&child)) weight = &t->weight, bias = &t->bias;
    if (!weight) return;
    fill_normal(weight->data<float>(), weight->numel(), kInitStd, rng);
    if (bias->defined()) bias->zero();
  });
}

}  // namespace

std::shared_ptr<nn::Module> resnet_generator(const GeneratorSpec& spec) {
  MX_CHECK(spec.ngf >= 1 && spec.blocks >= 0 && spec.in_channels >= 1 && spec.out_channels >= 1,
           "resnet generator: invalid ngf ", spec.ngf, ", blocks ", spec.blocks, " or channels");
  auto net = std::make_shared<Wrapped>();
  Sequential& m = net->model();
  const int f = spec.ngf;
  m.push_back(std::make_shared<nn::ReflectionPad2d>(3));
  m.push_back(conv(spec.in_channels, f, 7, 1, 0));
  m.push_back(norm(f));
  m.push_back(std::make_shared<nn::ReLU>());
  for (int mult : {1, 2}) {
    m.push_back(conv(f * mult, f * mult * 2, 3, 2, 1));
    m.push_back(norm(f * mult * 2));
    m.push_back(std::make_shared<nn::ReLU>());
  }
  for (int b = 0; b < spec.blocks; ++b) m.push_back(std::make_shared<ResnetBlock>(f * 4));
  for (int mult : {4, 2}) {
    m.push_back(std::make_shared<nn::ConvTranspose2d>(f * mult, f * mult / 2, 3, ops::ConvTranspose2dArgs{2, 1, 1},
                                                      true));
    m.push_back(norm(f * mult / 2));
    m.push_back(std::make_shared<nn::ReLU>());
  }
  m.push_back(std::make_shared<nn::ReflectionPad2d>(3));
  m.push_back(conv(f, spec.out_channels, 7, 1, 0));
  m.push_back(std::make_shared<nn::Tanh>());
  normal_init(*net, spec.seed);
  return net;
}

std::shared_ptr<nn::Module> patch_discriminator(const DiscriminatorSpec& spec) {
  MX_CHECK(spec.ndf >= 1 && spec.layers >= 1 && spec.in_channels >= 1, "patch discriminator: invalid ndf ",
           spec.ndf, ", layers ", spec.layers, " or channels ", spec.in_channels);
  auto net = std::make_shared<Wrapped>();
  Sequential& m = net->model();
  m.push_back(conv(spec.in_channels, spec.ndf, 4, 2, 1));
  m.push_back(std::make_shared<nn::LeakyReLU>(0.2f));
  int mult = 1;
  for (int n = 1; n <= spec.layers; ++n) {
    const int prev = mult;
    mult = std::min(1 << n, 8);
    m.push_back(conv(spec.ndf * prev, spec.ndf * mult, 4, n < spec.layers ? 2 : 1, 1));
    m.push_back(norm(spec.ndf * mult));
    m.push_back(std::make_shared<nn::LeakyReLU>(0.2f));
  }
  m.push_back(conv(spec.ndf * mult, 1, 4, 1, 1));
  normal_init(*net, spec.seed);
  return net;
}

int default_generator_blocks(int crop_size) { return crop_size >= 256 ? 9 : 6; }

}  // namespace mx::models
