// QuickNet: the small network of the quick CPU recipe (Fashion-MNIST in minutes on a laptop): three
// conv-BN-ReLU stages of 32, 64 and 128 channels with 2x2 max pooling between them, a global average
// pool and a linear classifier. Convolutions have no bias since batch norm follows each one.
#include "models/builders.h"

namespace mx::models {

std::shared_ptr<nn::Module> quicknet(const ModelSpec& spec) {
  return conv_stack({32, kPool, 64, kPool, 128}, false, spec);
}

}  // namespace mx::models
