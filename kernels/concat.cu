// CUDA channel copy: one strided device-to-device copy (a row per image) on the compute stream.
#include "kernels/concat.h"
#include "kernels/launch.cuh"

namespace mx::kernels {

template <>
void copy_channels<Device::CUDA>(float* dst, int64_t dst_c, int64_t dst_off, const float* src, int64_t src_c,
                                 int64_t src_off, int64_t n, int64_t channels, int64_t hw) {
  if (n <= 0 || channels * hw <= 0) return;
  const size_t f = sizeof(float);
  CHECK_CUDA(cudaMemcpy2DAsync(dst + dst_off * hw, static_cast<size_t>(dst_c * hw) * f, src + src_off * hw,
                               static_cast<size_t>(src_c * hw) * f, static_cast<size_t>(channels * hw) * f,
                               static_cast<size_t>(n), cudaMemcpyDeviceToDevice, ::mx::cuda::current_stream()));
  MX_CHECK_LAUNCH("copy_channels");
}

}  // namespace mx::kernels
