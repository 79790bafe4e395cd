// Weight-space perturbation for loss-surface plots (launcher API). Both kernels run over the flat
// parameter buffer in one pass, and both results are defined exactly, so a GPU twin built without
// fast-math matches the CPU twin bit for bit:
//   perturb_apply:   w[i] = fmaf(beta, d2[i], fmaf(alpha, d1[i], w0[i]))      (w = w0 + a d1 + b d2)
//   noise_direction: d[i] = fmaf(std, z_i, mean) * w[i], where z_i depends only on (seed, i): the four
//                    words of philox(seed, i / 4) make two Box-Muller pairs (normal_pair of words 0, 1
//                    and of words 2, 3, kernels/philox.h), which are z for elements 4 (i / 4) + 0 .. 3.
// Twins (engine/dispatch.h): perturb_cpu.cpp (host pointers), perturb.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {
// w, w0, d1, d2: n floats each (w may alias w0: each element is read before it is written).
template <Device D>
void perturb_apply(float* w, const float* w0, const float* d1, const float* d2, float alpha, float beta, int64_t n);
// d: n floats, T ~ N(mean, std^2) times w elementwise (w = 0 gives d = 0).
template <Device D>
void noise_direction(float* d, const float* w, float mean, float std, uint64_t seed, int64_t n);
}  // namespace mx::kernels
