// CPU twin of the fused batch mixup kernel: each output element is written once.
#include "kernels/mix_batch.h"
#include "kernels/mix_formulas.h"

namespace mx::kernels {

template <>
void mix_batch<Device::CPU>(float* out, const float* x, const MixSample* s, int64_t n, int64_t c, int64_t h,
                            int64_t w) {
  const int64_t plane = h * w;
  const int64_t image = c * plane;
#pragma omp parallel for schedule(static) if (n * image > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const MixSample& m = s[i];
    const float* a = x + i * image;
    const float* b = x + static_cast<int64_t>(m.partner) * image;
    float* o = out + i * image;
    for (int64_t k = 0; k < image; ++k) {
      if (m.op == kBlend) {
        o[k] = blend(a[k], b[k], m.lam);
      } else if (m.op == kPaste) {
        int64_t p = k % plane;
        o[k] = in_box(m, p / w, p % w) ? b[k] : a[k];
      } else {
        o[k] = a[k];
      }
    }
  }
}

}  // namespace mx::kernels
