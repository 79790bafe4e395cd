// Random inputs of the fused batch kernels (kernels/mix_batch.h, kernels/augment_mix.h): mixing plans
// with every op and every kind of paste box, stored pixels and their augmentations.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/augment_mix.h"
#include "kernels/mix_batch.h"

namespace mx::test {

// Every op, partners from a permutation, boxes of every kind (empty, whole image, edges that are not
// multiples of four, single rows and columns); sample 0 pastes the whole image.
inline std::vector<kernels::MixSample> random_plan(int64_t n, int64_t h, int64_t w, std::mt19937& rng) {
  std::vector<int32_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<kernels::MixSample> plan(perm.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    kernels::MixSample& m = plan[i];
    m.partner = perm[i];
    m.op = static_cast<int32_t>(rng() % 3);
    m.lam = std::uniform_real_distribution<float>(0.f, 1.f)(rng);
    auto span = [&](int64_t size, int32_t& lo, int32_t& hi) {
      lo = static_cast<int32_t>(rng() % (size + 1));
      hi = lo + static_cast<int32_t>(rng() % (size - lo + 1));
    };
    span(h, m.y0, m.y1);
    span(w, m.x0, m.x1);
    if (i == 0) m.op = kernels::kPaste, m.y0 = 0, m.y1 = static_cast<int32_t>(h), m.x0 = 0, m.x1 = static_cast<int32_t>(w);
  }
  return plan;
}

// n random stored pixel values, every byte value possible.
inline std::vector<uint8_t> random_bytes(int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  for (uint8_t& v : bytes) v = static_cast<uint8_t>(rng());
  return bytes;
}

// n augmentations of images drawn from `count` stored ones (repeats allowed): shifts from none to
// one pixel past the whole image either way, mirrored or not; sample 0 is unmoved and unmirrored.
inline std::vector<kernels::AugmentSample> random_augment(int64_t n, int64_t count, int64_t h, int64_t w,
                                                          std::mt19937& rng) {
  std::vector<kernels::AugmentSample> a(static_cast<size_t>(n));
  auto shift = [&](int64_t size) { return static_cast<int32_t>(static_cast<int64_t>(rng() % (2 * size + 3)) - size - 1); };
  for (size_t i = 0; i < a.size(); ++i) {
    a[i].source = static_cast<int64_t>(rng() % static_cast<uint64_t>(count));
    if (i == 0) continue;
    a[i].dx = shift(w);
    a[i].dy = shift(h);
    a[i].flip = static_cast<int32_t>(rng() % 2);
  }
  return a;
}

}  // namespace mx::test
