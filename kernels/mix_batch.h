// Fused batch mixup: one pass that writes every output element once, for any per-sample mode.
// Sample i of the output is built from x[i] and its partner x[partner]:
//   kBlend: lam * x[i] + (1 - lam) * x[partner]                  (mixup-C)
//   kPaste: x[partner] inside the box [y0, y1) x [x0, x1), x[i] elsewhere (mixup-H, -V, rectangle)
//   kCopy:  x[i]                                                   (no mixing)
// Mode H is a paste of rows [P, H), V of columns [P, W); the host computes the boxes.
// Twins (engine/dispatch.h): mix_batch_cpu.cpp (host pointers), mix_batch.cu (device pointers, compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"

namespace mx::kernels {

enum MixOp : int32_t { kCopy = 0, kBlend = 1, kPaste = 2 };

struct MixSample {
  int32_t partner = 0;
  int32_t op = kCopy;
  float lam = 1.f;                          // kBlend weight of x[i]
  int32_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;   // kPaste box, half-open, inside the image
};

// out and x: [n, c, h, w] F32 (out must not alias x); s: n samples, where the images are (the CUDA
// launcher reads a device copy, which the front-end ops::mix_batch uploads). The CUDA launcher is one
// launch for the batch, each input element read once where it is used, 16-byte accesses where
// alignment allows.
template <Device D>
void mix_batch(float* out, const float* x, const MixSample* s, int64_t n, int64_t c, int64_t h, int64_t w);

}  // namespace mx::kernels
