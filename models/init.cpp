// Weight initialisation shared by the zoo: normal draws from the generator's raw output (fill_normal) and
// reference_init, the Kaiming-normal (fan-out) convolution weights of the residual and dense families.
#include <cmath>

#include "models/builders.h"

namespace mx::models {

namespace {

// A uniform draw in (-1, 1) with 53 bits built from two raw draws.
double symmetric_uniform(std::mt19937& rng) {
  const uint64_t high = rng();  // two statements: the order of the draws is fixed
  const uint64_t bits = (high << 21) | (rng() >> 11);
  return 2.0 * static_cast<double>(bits) / 9007199254740992.0 - 1.0;
}

}  // namespace

void fill_normal(float* p, int64_t n, double std_dev, std::mt19937& rng) {
  for (int64_t i = 0; i < n;) {
    const double u = symmetric_uniform(rng);
    const double v = symmetric_uniform(rng);
    const double s = u * u + v * v;
    if (s <= 0 || s >= 1) continue;
    const double scale = std_dev * std::sqrt(-2.0 * std::log(s) / s);
    p[i++] = static_cast<float>(u * scale);
    if (i < n) p[i++] = static_cast<float>(v * scale);
  }
}

namespace {

void kaiming_normal_fan_out(nn::Conv2d& conv, std::mt19937& rng) {
  Tensor& w = conv.weight;
  const double fan_out = static_cast<double>(w.size(0) * w.size(2) * w.size(3));
  fill_normal(w.data<float>(), w.numel(), std::sqrt(2.0 / fan_out), rng);
  if (conv.bias.defined()) conv.bias.zero();
}

}  // namespace

void reference_init(nn::Module& m, std::mt19937& rng) {
  m.for_each_module([&rng](nn::Module& child) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&child)) kaiming_normal_fan_out(*conv, rng);
  });
}

}  // namespace mx::models
