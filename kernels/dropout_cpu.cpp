// CPU twin of dropout: one Philox block per four elements.
#include "kernels/dropout.h"

#include "kernels/philox.h"

namespace mx::kernels::cpu {

void dropout_apply(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed) {
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t b = 0; b < blocks; ++b) {
    Philox4 r = philox(seed, static_cast<uint64_t>(b));
    for (int64_t k = 0; k < 4 && 4 * b + k < n; ++k) {
      int64_t i = 4 * b + k;
      out[i] = uniform01(r.v[k]) < p ? 0.f : in[i] * scale;
    }
  }
}

}  // namespace mx::kernels::cpu
