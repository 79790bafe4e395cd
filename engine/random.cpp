// Reproducible host random draws built only on mt19937_64's specified output.
#include "engine/random.h"

#include <cmath>

#include "engine/error.h"

namespace mx::random {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

Rng make_rng(uint64_t seed, uint64_t stream) { return Rng(splitmix64(splitmix64(seed) ^ stream)); }

uint64_t uniform_index(Rng& rng, uint64_t n) {
  MX_CHECK(n > 0, "uniform_index: empty range");
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the incomplete last block
  uint64_t r;
  do r = rng(); while (r >= limit);
  return r % n;
}

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

std::vector<int32_t> permutation(Rng& rng, int64_t n) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  for (int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<int64_t>(uniform_index(rng, static_cast<uint64_t>(i + 1)));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

}  // namespace mx::random
