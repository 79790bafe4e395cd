// `train --init F.safetensors`: start a model from given weights, for fine-tuning.
#pragma once
#include <string>

#include "engine/nn.h"

namespace mx::train {

// Copies every parameter and buffer of `model` from the safetensors file at `path` (written by
// `mixup init`, by train, or from a PyTorch state_dict of the same layout). Shapes must match, except
// for the classifier (the model's last two parameters, a weight [classes, features] and a bias
// [classes]): one written for another class count keeps the model's fresh initialisation. Returns a
// notice saying so, or "" when every tensor was copied. Throws naming --init, the file and the first
// tensor that is missing, unknown or of another shape.
std::string load_initial_weights(const std::string& path, nn::Module& model);

}  // namespace mx::train
