// Stitching for MixCycleGAN (gan/stitch.h): the batch and its partners side by side in one [2N] tensor, so
// the fused mix kernel pastes partner N + i into sample i; the first N outputs are the stitched batch.
#include "gan/stitch.h"

#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/ops.h"

namespace mx::gan {

StitchDraw draw_stitch(double clean_share, double alpha, random::Rng& rng) {
  StitchDraw d;
  const bool clean = random::uniform01(rng) < clean_share;
  const bool horizontal = random::uniform01(rng) < 0.5;
  d.lam = random::beta(rng, alpha, alpha);
  if (!clean) d.mode = horizontal ? mixup::Mode::H : mixup::Mode::V;
  return d;
}

int64_t stitch_seam(const StitchDraw& d, int64_t side) {
  return static_cast<int64_t>(std::floor(d.lam * static_cast<double>(side)));
}

Tensor stitch(const Tensor& images, const Tensor& partners, const StitchDraw& d) {
  MX_CHECK(images.shape() == partners.shape() && images.device() == partners.device(), "stitch: images ",
           shape_str(images.shape()), " and partners ", shape_str(partners.shape()), " differ");
  if (d.mode == mixup::Mode::N) return images;
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  Shape both = images.shape();
  both[0] = 2 * n;
  Tensor pair = Tensor::empty(both, DType::F32, images.device());
  pair.slice(0, n).copy_from(images);
  pair.slice(n, 2 * n).copy_from(partners);
  std::vector<kernels::MixSample> samples(static_cast<size_t>(2 * n));  // partners: kCopy of themselves
  for (int64_t i = 0; i < 2 * n; ++i) samples[static_cast<size_t>(i)].partner = static_cast<int32_t>(i);
  const bool rows = d.mode == mixup::Mode::H;
  const auto seam = static_cast<int32_t>(stitch_seam(d, rows ? h : w));
  for (int64_t i = 0; i < n; ++i) {
    kernels::MixSample& s = samples[static_cast<size_t>(i)];
    s.partner = static_cast<int32_t>(n + i);
    s.op = kernels::kPaste;
    s.y0 = rows ? seam : 0;
    s.y1 = static_cast<int32_t>(h);
    s.x0 = rows ? 0 : seam;
    s.x1 = static_cast<int32_t>(w);
  }
  return ops::mix_batch(pair, samples).slice(0, n);
}

}  // namespace mx::gan
