// CUDA perturbation kernels: a grid-stride pass over the flat parameter buffer; the noise of block b
// (elements 4b .. 4b + 3) comes from philox(seed, b) exactly as in the CPU twin.
#include "kernels/launch.cuh"
#include "kernels/perturb.h"
#include "kernels/philox.h"

namespace mx::kernels {

namespace {

struct PerturbApply {
  float* w;
  const float* w0;
  const float* d1;
  const float* d2;
  float alpha, beta;
  __device__ void operator()(int64_t i) const { w[i] = fmaf(beta, d2[i], fmaf(alpha, d1[i], w0[i])); }
};

// One index per block of four elements; the last block may be partial.
struct NoiseBlock {
  float* d;
  const float* w;
  float mean, std;
  uint64_t seed;
  int64_t n;
  __device__ void operator()(int64_t b) const {
    const Philox4 r = philox(seed, static_cast<uint64_t>(b));
    float z[4];
    normal_pair(r.v[0], r.v[1], z[0], z[1]);
    normal_pair(r.v[2], r.v[3], z[2], z[3]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * b + k;
      if (i < n) d[i] = fmaf(std, z[k], mean) * w[i];
    }
  }
};

}  // namespace

template <>
void perturb_apply<Device::CUDA>(float* w, const float* w0, const float* d1, const float* d2, float alpha, float beta,
                                 int64_t n) {
  for_each_index(n, PerturbApply{w, w0, d1, d2, alpha, beta}, "perturb_apply");
}

template <>
void noise_direction<Device::CUDA>(float* d, const float* w, float mean, float std, uint64_t seed, int64_t n) {
  for_each_index((n + 3) / 4, NoiseBlock{d, w, mean, std, seed, n}, "noise_direction");
}

}  // namespace mx::kernels
