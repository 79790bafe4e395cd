// Finite-difference gradient check shared by the op tests: compares autograd gradients of
// sum(w * f(inputs)) for a fixed random weighting w with central differences in double precision.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "engine/tensor.h"

namespace mx::test {

inline Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(v, shape);
}

// Scalar objective: sum_i w_i * out_i, accumulated in double.
inline double weighted_sum(const Tensor& out, const std::vector<float>& w) {
  std::vector<float> o = out.to_vector<float>();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += static_cast<double>(w[i]) * o[i];
  return s;
}

// Checks d(sum w*f)/d(input) for every input that requires grad. f must be deterministic.
// eps is the finite-difference step; tol bounds |analytic - numeric| / max(1, |numeric|).
// The float32 forward limits precision: with eps = 1e-2 the truncation error is O(eps^2) and the
// rounding error about 1e-7 * |f| / eps, so 1e-2 relative is a safe bound for unit-scale inputs.
inline void expect_gradients_match(const std::function<Tensor(std::vector<Tensor>&)>& f,
                                   std::vector<Tensor> inputs, double eps = 1e-2, double tol = 1e-2,
                                   uint32_t seed = 7) {
  for (Tensor& t : inputs) t.set_requires_grad(true);
  Tensor out = f(inputs);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::vector<float> w(static_cast<size_t>(out.numel()));
  for (float& x : w) x = u(rng);
  run_backward(out, Tensor::from_vector(w, out.shape()));
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor grad = inputs[k].grad();
    ASSERT_TRUE(grad.defined()) << "input " << k << " received no gradient";
    std::vector<float> g = grad.to_vector<float>();
    float* x = inputs[k].data<float>();
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      float orig = x[i];
      x[i] = orig + static_cast<float>(eps);
      double up;
      double down;
      {
        NoGradGuard ng;
        up = weighted_sum(f(inputs), w);
        x[i] = orig - static_cast<float>(eps);
        down = weighted_sum(f(inputs), w);
      }
      x[i] = orig;
      double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(g[static_cast<size_t>(i)], numeric, tol * std::max(1.0, std::fabs(numeric)))
          << "input " << k << " element " << i;
    }
  }
}

}  // namespace mx::test
