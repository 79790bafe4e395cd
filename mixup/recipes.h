// Named training recipes: complete TrainConfig presets that command-line flags then override.
#pragma once
#include <string>
#include <vector>

#include "mixup/trainer.h"

namespace mx::mixup {

// "quick": the README's main job, a small network on Fashion-MNIST that finishes in minutes on a
// 2-core CPU. "paper": the paper's CIFAR recipe (PreAct ResNet-18, 200 epochs, batch 128, lr 0.1,
// Nesterov 0.9, wd 1e-4, /10 at 50 % and 75 %, flip + 4-pixel translation, mixup-C with alpha 1).
TrainConfig recipe(const std::string& name);  // throws mx::Error naming --recipe
std::vector<std::string> recipe_names();

}  // namespace mx::mixup
