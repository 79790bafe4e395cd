// Input generators for op tests (see op_inputs.h).
#include "tests/ops/op_inputs.h"

#include <algorithm>
#include <numeric>

namespace mx::test {

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo, float hi) {
  return Tensor::from_vector(random_floats(shape_numel(shape), rng, lo, hi), shape);
}

Tensor random_images(int64_t n, int64_t c, int64_t hw, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n * c * hw * hw));
  for (float& x : v) x = d(rng);
  return Tensor::from_vector(v, {n, c, hw, hw});
}

Tensor distinct_tensor(const Shape& shape, std::mt19937& rng, float gap) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.f);
  std::shuffle(v.begin(), v.end(), rng);
  const float middle = static_cast<float>(v.size() / 2);  // an integer: k + 1/2 - middle is never 0
  for (float& x : v) x = (x + 0.5f - middle) * gap;
  return Tensor::from_vector(v, shape);
}

Tensor random_labels(int64_t n, int64_t classes, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(classes - 1));
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& y : v) y = u(rng);
  return Tensor::from_vector(v, {n});
}

}  // namespace mx::test
