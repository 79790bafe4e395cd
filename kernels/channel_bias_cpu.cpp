// CPU twin of the per-channel bias: planes in parallel for the add, channels in parallel for the
// gradient, each channel's sum in double over images in order.
#include "kernels/channel_bias.h"

namespace mx::kernels {

template <>
void channel_bias_forward<Device::CPU>(float* y, const float* bias, int64_t n, int64_t c, int64_t hw) {
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t p = 0; p < n * c; ++p) {
    float* yp = y + p * hw;
    const float b = bias[p % c];
#pragma omp simd
    for (int64_t j = 0; j < hw; ++j) yp[j] += b;
  }
}

template <>
void channel_bias_backward<Device::CPU>(float* dbias, const float* dy, int64_t n, int64_t c, int64_t hw) {
#pragma omp parallel for schedule(static) if (n * c * hw > 65536)
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* p = dy + (i * c + ch) * hw;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < hw; ++j) sum += p[j];
    }
    dbias[ch] = static_cast<float>(sum);
  }
}

}  // namespace mx::kernels
