// CPU twin of the channel copy: one contiguous block of channels * hw floats per image.
#include <cstring>

#include "kernels/concat.h"

namespace mx::kernels {

template <>
void copy_channels<Device::CPU>(float* dst, int64_t dst_c, int64_t dst_off, const float* src, int64_t src_c,
                                int64_t src_off, int64_t n, int64_t channels, int64_t hw) {
  const size_t block = static_cast<size_t>(channels * hw) * sizeof(float);
#pragma omp parallel for schedule(static) if (n * channels * hw > 65536)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + (i * dst_c + dst_off) * hw, src + (i * src_c + src_off) * hw, block);
}

}  // namespace mx::kernels
