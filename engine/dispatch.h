// Device dispatch: an op front-end calls MX_DISPATCH(device, kernel, args...) and gets the CPU twin
// or the CUDA launcher of kernels/<name>.h with the same signature.
#pragma once
#include "engine/error.h"
#include "engine/tensor.h"

namespace mx {
[[noreturn]] inline void no_cuda_kernel(const char* name) {
  MX_FAIL("op ", name, ": no CUDA kernel in this build; run with --device cpu");
}
}  // namespace mx

#define MX_DISPATCH(dev, fn, ...)                                   \
  do {                                                              \
    if ((dev) == ::mx::Device::CPU) ::mx::kernels::cpu::fn(__VA_ARGS__); \
    else ::mx::no_cuda_kernel(#fn);                                 \
  } while (0)
