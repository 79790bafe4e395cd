// Test-only kernel: Philox words and Box-Muller normals drawn on the GPU (see cuda_probe.h).
#include "engine/cuda/runtime.h"
#include "kernels/launch.cuh"
#include "kernels/philox.h"
#include "tests/cuda_probe.h"

namespace mx::test {

namespace {

struct Draw {
  uint32_t* words;
  float* normals;
  uint64_t seed, stream;
  __device__ void operator()(int64_t c) const {
    const kernels::Philox4 r = kernels::philox(seed, static_cast<uint64_t>(c), stream);
    for (int k = 0; k < 4; ++k) words[4 * c + k] = r.v[k];
    kernels::normal_pair(r.v[0], r.v[1], normals[4 * c], normals[4 * c + 1]);
    kernels::normal_pair(r.v[2], r.v[3], normals[4 * c + 2], normals[4 * c + 3]);
  }
};

}  // namespace

void philox_on_device(uint32_t* words, float* normals, int64_t blocks, uint64_t seed, uint64_t stream) {
  kernels::for_each_index(blocks, Draw{words, normals, seed, stream}, "philox_on_device");
  cuda::synchronize();
}

}  // namespace mx::test
