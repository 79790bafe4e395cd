// reference_init: Kaiming-normal (fan-out) convolution weights, as the reference code of the residual and
// dense families initialises them.
#include <cmath>

#include "models/builders.h"

namespace mx::models {

namespace {

// A standard normal draw by Marsaglia's polar method on 53-bit uniforms built from two raw draws.
double standard_normal(std::mt19937& rng) {
  for (;;) {
    double u[2];
    for (double& v : u) {
      const uint64_t high = rng();  // two statements: the order of the draws is fixed
      const uint64_t bits = (high << 21) | (rng() >> 11);
      v = 2.0 * static_cast<double>(bits) / 9007199254740992.0 - 1.0;
    }
    const double s = u[0] * u[0] + u[1] * u[1];
    if (s > 0 && s < 1) return u[0] * std::sqrt(-2.0 * std::log(s) / s);
  }
}

void kaiming_normal_fan_out(nn::Conv2d& conv, std::mt19937& rng) {
  Tensor& w = conv.weight;
  const double fan_out = static_cast<double>(w.size(0) * w.size(2) * w.size(3));
  const double std_dev = std::sqrt(2.0 / fan_out);
  float* p = w.data<float>();
  for (int64_t i = 0; i < w.numel(); ++i) p[i] = static_cast<float>(std_dev * standard_normal(rng));
  if (conv.bias.defined()) conv.bias.zero();
}

}  // namespace

void reference_init(nn::Module& m, std::mt19937& rng) {
  m.for_each_module([&rng](nn::Module& child) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&child)) kaiming_normal_fan_out(*conv, rng);
  });
}

}  // namespace mx::models
