// Inverted dropout (launcher API). Element i is dropped when uniform01 of word i % 4 of
// philox(seed, i / 4) is below p; survivors are scaled by scale = 1 / (1 - p). The mask is a pure
// function of (seed, i), so the backward pass applies the same call to the output gradient.
#pragma once
#include <cstdint>

namespace mx::kernels::cpu {
void dropout_apply(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed);
}  // namespace mx::kernels::cpu

// The CUDA launchers (kernels/dropout.cu): the same signatures with device pointers, queued on the
// compute stream (engine/cuda/stream.h).
namespace mx::kernels::cuda {
void dropout_apply(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed);
}  // namespace mx::kernels::cuda
