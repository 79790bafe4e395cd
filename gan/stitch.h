// The generator-side mixing of MixCycleGAN (paper eq. 3): a batch of one domain stitched with partner images
// of the same domain, mixup-H or mixup-V with equal odds, the seam at P = floor(lam * side) (eq. 3 floors,
// where the classifier's spatial modes round): rows (H) or columns (V) [0, P) from the image, the rest from
// its partner. A share of batches stays clean (paper V-B: large uniform regions need some unstitched data).
#pragma once
#include "engine/random.h"
#include "engine/tensor.h"
#include "mixup/policy.h"

namespace mx::gan {

struct StitchDraw {
  mixup::Mode mode = mixup::Mode::N;  // N (clean), H or V
  double lam = 1;                     // Beta(alpha, alpha); also the discriminator's mixup-C weight and target
};

// With probability clean_share a clean batch, else H or V with equal odds; lam ~ Beta(alpha, alpha) in both
// cases (a clean batch still feeds the discriminator's mixup-C loss).
StitchDraw draw_stitch(double clean_share, double alpha, random::Rng& rng);

// The seam row (H) or column (V): floor(lam * side), side = H or W.
int64_t stitch_seam(const StitchDraw& d, int64_t side);

// images and partners [N, C, H, W] on one device; returns the stitched batch (images itself when clean),
// made by one call of the fused mix kernel.
Tensor stitch(const Tensor& images, const Tensor& partners, const StitchDraw& d);

}  // namespace mx::gan
