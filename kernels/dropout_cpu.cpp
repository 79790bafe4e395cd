// CPU twin of dropout: one Philox block per four elements; the loop over whole blocks vectorises.
#include "kernels/dropout.h"

#include "kernels/philox.h"

namespace mx::kernels {

namespace {
inline float keep_scale(uint32_t word, float p, float scale) { return uniform01(word) < p ? 0.f : scale; }
}  // namespace

template <>
void dropout_apply<Device::CPU>(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed) {
  const int64_t blocks = n / 4;
#pragma omp parallel for simd schedule(static) if (n > 16384)
  for (int64_t b = 0; b < blocks; ++b) {
    Philox4 r = philox(seed, static_cast<uint64_t>(b));
    for (int k = 0; k < 4; ++k) out[4 * b + k] = in[4 * b + k] * keep_scale(r.v[k], p, scale);
  }
  if (blocks * 4 == n) return;
  Philox4 r = philox(seed, static_cast<uint64_t>(blocks));
  for (int64_t i = blocks * 4; i < n; ++i) out[i] = in[i] * keep_scale(r.v[i - blocks * 4], p, scale);
}

}  // namespace mx::kernels
