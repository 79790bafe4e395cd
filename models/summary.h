// Model summaries: parameter counts and multiply-adds per image, for `mixup models` and the tests.
#pragma once
#include <cstdint>

#include "engine/nn.h"
#include "models/models.h"

namespace mx::models {

int64_t parameter_count(const nn::Module& m);

// Multiply-adds of the convolutions and linear layers (ops::MacCounter) in one forward pass of a single
// spec.in_channels x spec.image_size x spec.image_size image, in evaluation mode without autograd; the
// module is left in evaluation mode.
int64_t multiply_adds(nn::Module& m, const ModelSpec& spec);

}  // namespace mx::models
