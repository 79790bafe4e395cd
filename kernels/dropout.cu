// CUDA dropout: one thread per Philox block of four elements, the same draws as the CPU twin, so the
// mask is bit-identical.
#include "kernels/dropout.h"
#include "kernels/launch.cuh"
#include "kernels/philox.h"

namespace mx::kernels {

namespace {

struct Dropout {
  float* out;
  const float* in;
  int64_t n;
  float p, scale;
  uint64_t seed;
  __device__ void operator()(int64_t block) const {
    const Philox4 r = philox(seed, static_cast<uint64_t>(block));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * block + k;
      if (i < n) out[i] = in[i] * (uniform01(r.v[k]) < p ? 0.f : scale);
    }
  }
};

}  // namespace

template <>
void dropout_apply<Device::CUDA>(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed) {
  for_each_index((n + 3) / 4, Dropout{out, in, n, p, scale, seed}, "dropout_apply");
}

}  // namespace mx::kernels
