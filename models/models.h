// The model zoo: networks built from engine/nn with PyTorch-compatible parameter names.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/nn.h"

namespace mx::models {

struct ModelSpec {
  int in_channels = 3;
  int image_size = 32;  // square inputs
  int num_classes = 10;
  uint64_t seed = 0;    // weight initialisation
  // Residual families: start the last batch norm of every residual block at weight 0 (Goyal et al.),
  // so each block begins as the identity. Off by default, as in torchvision.
  bool zero_init_residual = false;
  // DenseNet: recompute each layer's concatenation, batch norm and ReLU in backward instead of storing
  // them (Pleiss et al.); false keeps every intermediate, for comparison.
  bool memory_efficient = true;
  // false: the zoo's large models skip their weight initialisation (weights stay zero), for summaries that
  // only need shapes and multiply-adds (`mixup models`).
  bool initialise = true;
};

// Names: "preact-resnet18" (pytorch-cifar PreActResNet18), "vgg11" (pytorch-cifar VGG('VGG11'), batch
// norm), "quicknet" (the small fast network of the quick CPU recipe), "resnet50", "resnet101",
// "resnext101-64x4d" (torchvision's ImageNet models), "resnext29-8x64d" (prlz77/ResNeXt.pytorch's
// CifarResNeXt), "wrn-28-10" (xternalz/WideResNet-pytorch). Throws mx::Error listing the known names for
// anything else.
std::shared_ptr<nn::Module> make_model(const std::string& name, const ModelSpec& spec);
std::vector<std::string> model_names();

// The input a model was designed for: in_channels, image_size and num_classes of its data set (ImageNet
// models 3x224x224 and 1000 classes, CIFAR models 3x32x32 and 10, quicknet Fashion-MNIST's 1x28x28 and 10);
// the other fields keep ModelSpec's defaults. Throws as make_model for an unknown name.
ModelSpec natural_spec(const std::string& name);

// The penultimate features of `model` for the batch x: the input [N, F] of its classifier, the last
// Linear layer it registers, which every zoo model applies last, to its pooled features
// (models/features.cpp). Throws when the model has no Linear layer.
Tensor penultimate_features(nn::Module& model, const Tensor& x);

}  // namespace mx::models
