// The per-element rule of batch mixing (kernels/mix_batch.h), written once for every kernel that mixes
// and both of its twins: mix_batch (float images) and augment_mix (stored uint8 images).
#pragma once
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/mix_batch.h"

namespace mx::kernels {

// Whether pixel (y, x) lies in the sample's paste box, half-open.
MX_HD inline bool in_box(const MixSample& s, int64_t y, int64_t x) {
  return y >= s.y0 && y < s.y1 && x >= s.x0 && x < s.x1;
}

// kBlend: lam * own + (1 - lam) * partner.
MX_HD inline float blend(float own, float partner, float lam) { return lam * own + (1.f - lam) * partner; }

}  // namespace mx::kernels
