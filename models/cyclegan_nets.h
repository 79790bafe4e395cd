// The networks of CycleGAN (Zhu et al.) in the layout of junyanz/pytorch-CycleGAN-and-pix2pix
// (models/networks.py), so that its users can load our weights by name: the ResNet generator ("netG",
// --netG resnet_9blocks / resnet_6blocks) and the 70x70 PatchGAN discriminator ("netD", --netD basic,
// n_layers 3), both with instance norm (affine off, so every convolution carries a bias) and weights
// initialised N(0, 0.02), biases 0 (init_type normal, init_gain 0.02).
#pragma once
#include <cstdint>
#include <memory>

#include "engine/nn.h"

namespace mx::models {

struct GeneratorSpec {
  int in_channels = 3, out_channels = 3;
  int ngf = 64;     // filters of the first convolution (--ngf)
  int blocks = 9;   // residual blocks (--g-blocks): 9 at 256x256, 6 at 128x128 and below
  uint64_t seed = 0;
};

// c7s1-ngf, d2ngf, d4ngf, `blocks` residual blocks of 4ngf, u2ngf, ungf, c7s1-out + tanh: the state_dict
// names are model.<i>.weight/bias with each block's model.<i>.conv_block.{1,5}.weight/bias. Any input
// whose side is a multiple of 4 keeps its size; the output lies in (-1, 1).
std::shared_ptr<nn::Module> resnet_generator(const GeneratorSpec& spec);

struct DiscriminatorSpec {
  int in_channels = 3;
  int ndf = 64;      // filters of the first convolution (--ndf)
  int layers = 3;    // stride-2 convolutions (--n-layers-d): 3 is the 70x70 PatchGAN
  uint64_t seed = 0;
};

// Convolutions 4x4 (stride 2 for the first `layers`, then 1) with leaky ReLU 0.2 and instance norm after
// all but the first, then a 4x4 convolution to one channel: a map of patch logits, [N, 1, h, w]
// (30x30 for a 256x256 input, 2x2 for 32x32).
std::shared_ptr<nn::Module> patch_discriminator(const DiscriminatorSpec& spec);

// The generator's default block count for a crop size: 9 from 256 on, else 6 (the reference's choice).
int default_generator_blocks(int crop_size);

}  // namespace mx::models
