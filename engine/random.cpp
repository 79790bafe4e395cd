// Reproducible host random draws built only on mt19937_64's specified output.
#include "engine/random.h"

#include <cmath>
#include <numeric>

#include "engine/error.h"

namespace mx::random {

double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double normal(Rng& rng) {
  double u, v, s;
  do {
    u = 2 * uniform01(rng) - 1;
    v = 2 * uniform01(rng) - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  return u * std::sqrt(-2 * std::log(s) / s);
}

double gamma(Rng& rng, double shape) {
  MX_CHECK(shape > 0, "gamma: shape must be positive, got ", shape);
  if (shape < 1) {  // boost: Gamma(a) = Gamma(a + 1) * U^(1/a)
    double u = uniform01(rng);
    return gamma(rng, shape + 1) * std::pow(u > 0 ? u : 1e-300, 1 / shape);
  }
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x = normal(rng), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = uniform01(rng);
    if (u < 1 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

double beta(Rng& rng, double a, double b) {
  double x = gamma(rng, a), y = gamma(rng, b);
  return x / (x + y);
}

std::vector<int64_t> permutation(Rng& rng, int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(p[static_cast<size_t>(i)], p[uniform_below(rng, static_cast<uint64_t>(i) + 1)]);
  return p;
}

}  // namespace mx::random
