// The ReLU of the elementwise kernels and of batch norm's fused ReLU, written once for every twin
// (elementwise_cpu.cpp, elementwise.cu, batchnorm_cpu.cpp, batchnorm.cu).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/host_device.h"

namespace mx::kernels {

// x > 0 or NaN ? x : 0 (a NaN goes on, as in PyTorch).
MX_HD inline float relu_value(float x) { return x > 0.f || x != x ? x : 0.f; }

// The gradient through a ReLU whose output was y: dy where y > 0, else +0 (also for an infinite or NaN
// dy). Written as a bit mask rather than a select: GCC 12 leaves a select inside a loop that also sums
// (batch norm's backward) unvectorized.
MX_HD inline float relu_gradient(float dy, float y) {
  uint32_t bits;
  std::memcpy(&bits, &dy, sizeof bits);
  bits &= 0u - static_cast<uint32_t>(y > 0.f);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

}  // namespace mx::kernels
