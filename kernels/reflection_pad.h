// Reflection padding of the planes of an NCHW tensor (launcher API), torch.nn.ReflectionPad2d: output
// [planes, h + 2 pad, w + 2 pad], output (i, j) reads input (reflect(i - pad, h), reflect(j - pad, w)),
// the edge row or column itself not repeated; pad < h and pad < w. The backward is a gather: each
// input element sums, rows outer and columns inner, the at most 3 x 3 outputs that reflect onto it, in
// the order reflection_sources gives, on both twins (so they agree bit for bit). No atomics.
// Twins (engine/dispatch.h): reflection_pad_cpu.cpp (host pointers), reflection_pad.cu (device pointers,
// compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"
#include "kernels/host_device.h"

namespace mx::kernels {

template <Device D>
void reflection_pad2d_forward(float* y, const float* x, int64_t planes, int64_t h, int64_t w, int64_t pad);
template <Device D>
void reflection_pad2d_backward(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w, int64_t pad);

// The input index that output index o (0 <= o < size + 2 pad) reads along an axis of `size`.
MX_HD inline int64_t reflected_index(int64_t o, int64_t size, int64_t pad) {
  const int64_t t = o - pad;
  return t < 0 ? -t : (t >= size ? 2 * (size - 1) - t : t);
}

// The output indices along an axis that read input index r: r + pad itself, then its mirror in the
// leading padding, then its mirror in the trailing padding, where they exist. Returns how many (1 to 3).
MX_HD inline int reflection_sources(int64_t r, int64_t size, int64_t pad, int64_t out[3]) {
  int count = 0;
  out[count++] = r + pad;
  if (r >= 1 && r <= pad) out[count++] = pad - r;
  if (r <= size - 2 && r >= size - 1 - pad) out[count++] = pad + 2 * (size - 1) - r;
  return count;
}

}  // namespace mx::kernels
