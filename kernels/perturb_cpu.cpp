// CPU twin of the perturbation kernels: one pass each; noise takes one Philox block per four elements.
#include "kernels/perturb.h"

#include <cmath>

#include "kernels/philox.h"

namespace mx::kernels {

template <>
void perturb_apply<Device::CPU>(float* w, const float* w0, const float* d1, const float* d2, float alpha, float beta,
                                int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) w[i] = fmaf(beta, d2[i], fmaf(alpha, d1[i], w0[i]));
}

namespace {
// Elements 4b .. 4b + count - 1 of the noise direction, count <= 4.
inline void noise_block(float* d, const float* w, float mean, float std, uint64_t seed, int64_t b, int count) {
  const Philox4 r = philox(seed, static_cast<uint64_t>(b));
  float z[4];
  normal_pair(r.v[0], r.v[1], z[0], z[1]);
  normal_pair(r.v[2], r.v[3], z[2], z[3]);
  for (int k = 0; k < count; ++k) d[4 * b + k] = fmaf(std, z[k], mean) * w[4 * b + k];
}
}  // namespace

template <>
void noise_direction<Device::CPU>(float* d, const float* w, float mean, float std, uint64_t seed, int64_t n) {
  const int64_t blocks = n / 4;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t b = 0; b < blocks; ++b) noise_block(d, w, mean, std, seed, b, 4);
  if (blocks * 4 < n) noise_block(d, w, mean, std, seed, blocks, static_cast<int>(n - blocks * 4));
}

}  // namespace mx::kernels
