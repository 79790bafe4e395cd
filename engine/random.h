// Host-side random draws that must be reproducible across standard libraries: everything is built
// on std::mt19937_64's raw output (fully specified by the standard) or on SplitMix64, never on the
// unspecified algorithms of std::shuffle or std::*_distribution.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace mx::random {

using Rng = std::mt19937_64;

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// The SplitMix64 finalizer: a bijective 64-bit mix.
inline uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A 64-bit key from a list of values (seed, stream, epoch, ...): distinct lists give independent streams.
inline uint64_t derive_key(std::initializer_list<uint64_t> values) {
  uint64_t h = 0;
  for (uint64_t v : values) h = mix64(h ^ mix64(v + kGolden));
  return h;
}

// SplitMix64 as a generator: cheap to seed, so each sample can have its own stream.
struct SplitMix64 {
  uint64_t state;
  uint64_t operator()() { return mix64(state += kGolden); }
};

// A uniform integer in [0, n), n > 0, by rejection so that no residue is favoured.
template <typename Generator>
uint64_t uniform_below(Generator& g, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    uint64_t r = g();
    if (r >= threshold) return r % n;
  }
}

inline Rng make_rng(std::initializer_list<uint64_t> key) { return Rng(derive_key(key)); }
double uniform01(Rng& rng);                    // uniform in [0, 1), 53 bits
double normal(Rng& rng);                       // standard normal (Marsaglia polar)
double gamma(Rng& rng, double shape);          // Marsaglia-Tsang, shape > 0
double beta(Rng& rng, double a, double b);     // via two gamma draws
std::vector<int64_t> permutation(Rng& rng, int64_t n);  // Fisher-Yates

}  // namespace mx::random
