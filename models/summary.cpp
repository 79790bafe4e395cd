// Parameter counts and multiply-adds per image of a model.
#include "models/summary.h"

#include "engine/autograd.h"

namespace mx::models {

int64_t parameter_count(const nn::Module& m) {
  int64_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) n += p.numel();
  return n;
}

int64_t multiply_adds(nn::Module& m, const ModelSpec& spec) {
  m.eval();
  NoGradGuard no_grad;
  ops::MacCounter counter;
  m(Tensor::zeros({1, spec.in_channels, spec.image_size, spec.image_size}));
  return counter.count();
}

}  // namespace mx::models
