// Fused batch building from stored uint8 images: one pass that, for every output element, reads the
// stored pixel of the sample (and of its partner where the mix needs it), moves and mirrors it as the
// sample's augmentation says, normalizes it through a lookup table and mixes it as mix_batch does
// (kernels/mix_batch.h). Every output element is written once; no float copy of the batch is made
// before the mix. It equals, bit for bit on the CPU, the loader's augmentation and normalization
// (datasets/loader.h) followed by mix_batch.
// Twins (engine/dispatch.h): augment_mix_cpu.cpp (host pointers), augment_mix.cu (device pointers,
// compute stream).
#pragma once
#include <cstdint>

#include "engine/device.h"
#include "kernels/host_device.h"
#include "kernels/mix_batch.h"

namespace mx::kernels {

// The augmentation of one sample: its stored image moved by (dx, dy) pixels (content goes right and
// down for positive values, zero pixels fill in), then mirrored left-right when `flip` is non-zero.
struct AugmentSample {
  int64_t source = 0;  // index of the stored image
  int32_t dx = 0, dy = 0;
  int32_t flip = 0;
};
// The front-end copies arrays of these to the GPU as bytes: one layout on both sides.
static_assert(sizeof(AugmentSample) == 24 && alignof(AugmentSample) == 8, "AugmentSample layout");

// Pixel (ch, y, x) of the augmented image, as the stored 0..255 value (0 where the shift uncovers it).
MX_HD inline int augmented_pixel(const uint8_t* image, const AugmentSample& a, int64_t ch, int64_t y, int64_t x,
                                 int64_t h, int64_t w) {
  const int64_t sy = y - a.dy, sx = (a.flip ? w - 1 - x : x) - a.dx;
  return sy >= 0 && sy < h && sx >= 0 && sx < w ? image[(ch * h + sy) * w + sx] : 0;
}

// out: [n, c, h, w] F32. images: the stored [count, c, h, w] U8 images (every a[i].source below count).
// table: [c * 256], the value of pixel v of channel ch at table[ch * 256 + v]. a: the n samples'
// augmentations; s: their mixing, partners indexing the batch (sample i mixes with sample
// s[i].partner, augmented as a[s[i].partner] says). a, s and table are where the images are.
template <Device D>
void augment_mix(float* out, const uint8_t* images, const float* table, const AugmentSample* a, const MixSample* s,
                 int64_t n, int64_t c, int64_t h, int64_t w);

}  // namespace mx::kernels
