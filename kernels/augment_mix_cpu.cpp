// CPU twin of the fused stored-image batch builder: each output element is written once, each stored
// pixel read only where the mix uses it.
#include "kernels/augment_mix.h"
#include "kernels/mix_formulas.h"

namespace mx::kernels {

template <>
void augment_mix<Device::CPU>(float* out, const uint8_t* images, const float* table, const AugmentSample* a,
                              const MixSample* s, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t image = c * h * w;
#pragma omp parallel for schedule(static) if (n * image > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const MixSample& m = s[i];
    const AugmentSample& own = a[i];
    const AugmentSample& partner = a[m.partner];
    const uint8_t* own_image = images + own.source * image;
    const uint8_t* partner_image = images + partner.source * image;
    float* o = out + i * image;
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* lut = table + ch * 256;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x, ++o) {
          if (m.op == kBlend) {
            *o = blend(lut[augmented_pixel(own_image, own, ch, y, x, h, w)],
                       lut[augmented_pixel(partner_image, partner, ch, y, x, h, w)], m.lam);
          } else {
            const bool from_partner = m.op == kPaste && in_box(m, y, x);
            *o = from_partner ? lut[augmented_pixel(partner_image, partner, ch, y, x, h, w)]
                              : lut[augmented_pixel(own_image, own, ch, y, x, h, w)];
          }
        }
      }
    }
  }
}

}  // namespace mx::kernels
