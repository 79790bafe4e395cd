// Host-side random draws that must be reproducible across standard libraries: everything is built
// on std::mt19937_64's raw output (fully specified by the standard), not on the unspecified
// algorithms of std::shuffle or std::*_distribution.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace mx::random {

using Rng = std::mt19937_64;

// A generator for stream `stream` of a run: independent seeds from (seed, stream) via splitmix64.
Rng make_rng(uint64_t seed, uint64_t stream);
uint64_t uniform_index(Rng& rng, uint64_t n);  // uniform in [0, n), unbiased (rejection)
double uniform01(Rng& rng);                    // uniform in [0, 1), 53 bits
double normal(Rng& rng);                       // standard normal (Marsaglia polar)
double gamma(Rng& rng, double shape);          // Marsaglia-Tsang, shape > 0
double beta(Rng& rng, double a, double b);     // via two gamma draws
std::vector<int32_t> permutation(Rng& rng, int64_t n);  // Fisher-Yates

}  // namespace mx::random
