// Input generators for op tests (no gtest): uniform random values, distinct values that keep clear of
// kinks and ties, and class labels. All tensors are made on the CPU.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "engine/tensor.h"

namespace mx::test {

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f);
Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f);

// The values (k + 1/2 - floor(n/2)) * gap for k = 0 .. n-1 in random order: any two differ by at least `gap`
// and none lies closer than gap/2 to zero, so with gap > 2 * the finite-difference step no perturbation
// crosses a ReLU kink or changes which element of a max-pool window is largest.
Tensor distinct_tensor(const Shape& shape, std::mt19937& rng, float gap = 0.05f);

// Images [n, c, hw, hw] of standard normal values from std::mt19937(seed): inputs of whole-model tests.
Tensor random_images(int64_t n, int64_t c, int64_t hw, uint32_t seed);

// n I32 labels drawn uniformly from [0, classes).
Tensor random_labels(int64_t n, int64_t classes, std::mt19937& rng);

}  // namespace mx::test
