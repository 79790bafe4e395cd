// Inverted dropout (launcher API). Element i is dropped when uniform01 of word i % 4 of
// philox(seed, i / 4) is below p; survivors are scaled by scale = 1 / (1 - p). The mask is a pure
// function of (seed, i), so the backward pass applies the same call to the output gradient.
// Twins (engine/dispatch.h): dropout_cpu.cpp (host pointers), dropout.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
template <Device D>
void dropout_apply(float* out, const float* in, int64_t n, float p, float scale, uint64_t seed);
}  // namespace mx::kernels
