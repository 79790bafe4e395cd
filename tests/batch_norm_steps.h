// One batch-norm step for the tests that compare ways of running it (tests/test_sync_batch_norm.cpp,
// tests/test_batch_norm_relu.cpp): a layer's tensors, and the forward and backward of ops::batch_norm2d
// through a copy of them, with everything it produced.
#pragma once
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/ops/op_inputs.h"

namespace mx::test {

// A batch-norm layer's tensors: parameters and running statistics.
struct Layer {
  Tensor gamma, beta, running_mean, running_var;
  Layer(std::mt19937& rng, int64_t c)
      : gamma(random_tensor({c}, rng, 0.5f, 1.5f)), beta(random_tensor({c}, rng)),
        running_mean(random_tensor({c}, rng)), running_var(random_tensor({c}, rng, 0.5f, 2.f)) {}
};

// What one step of batch_norm2d produced (on one rank, for synchronized batch norm).
struct Step {
  std::vector<float> y, dx, dgamma, dbeta, running_mean, running_var;
};

// Forward of x through a copy of the layer and backward of dy; dx stays empty unless x needs a gradient.
// With relu_after the output goes through ops::relu (the two ops that args.relu fuses).
inline Step step(const Tensor& x, const Tensor& dy, const Layer& layer, const ops::BatchNormArgs& args,
                 bool need_x = true, bool relu_after = false) {
  Tensor xs = x.clone(), gamma = layer.gamma.clone(), beta = layer.beta.clone();
  Tensor running_mean = layer.running_mean.clone(), running_var = layer.running_var.clone();
  xs.set_requires_grad(need_x);
  gamma.set_requires_grad(true);
  beta.set_requires_grad(true);
  Tensor y = ops::batch_norm2d(xs, gamma, beta, running_mean, running_var, args);
  if (relu_after) y = ops::relu(y);
  run_backward(y, dy);
  return {y.to_vector<float>(),
          need_x ? xs.grad().to_vector<float>() : std::vector<float>(),
          gamma.grad().to_vector<float>(),
          beta.grad().to_vector<float>(),
          running_mean.to_vector<float>(),
          running_var.to_vector<float>()};
}

}  // namespace mx::test
