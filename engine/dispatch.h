// Device dispatch, the one way from an op front-end to a kernel.
//
// Every kernel in kernels/ is a function template on the backend, declared once in kernels/<name>.h:
//   template <Device D> void relu_forward(float* y, const float* x, int64_t n);
// and defined once per backend as an explicit specialisation with that same signature:
//   kernels/<name>_cpu.cpp   template <> void relu_forward<Device::CPU>(...)   the CPU twin
//   kernels/<name>.cu        template <> void relu_forward<Device::CUDA>(...)  the CUDA launcher
//                            (or <name>_cudnn.cpp where a library does the work; CUDA builds only)
// The specialisations are declared nowhere else, so a signature is written in the header and in each
// twin's definition, never twice in a header; the linker pairs each call with its definition.
//
// An op front-end calls MX_DISPATCH(device, relu_forward, args...), which runs
// kernels::relu_forward<Device::CPU>(args...) or kernels::relu_forward<Device::CUDA>(args...). A build
// without CUDA never names a CUDA specialisation: there MX_CUDA_KERNEL(fn) is a callable that throws
// "op fn: no CUDA kernel in this build". Tests that compare the twins call MX_CUDA_KERNEL(fn)(args...)
// and kernels::fn<Device::CPU>(args...) directly.
#pragma once
#include "engine/device.h"
#include "engine/error.h"

namespace mx {
[[noreturn]] inline void no_cuda_kernel(const char* name) {
  MX_FAIL("op ", name, ": no CUDA kernel in this build; run with --device cpu");
}
}  // namespace mx

#ifdef MIXUP_HAVE_CUDA
#define MX_CUDA_KERNEL(fn) ::mx::kernels::fn<::mx::Device::CUDA>
#else
#define MX_CUDA_KERNEL(fn) [](auto&&...) { ::mx::no_cuda_kernel(#fn); }
#endif

#define MX_DISPATCH(dev, fn, ...)                                                 \
  do {                                                                            \
    if ((dev) == ::mx::Device::CPU) ::mx::kernels::fn<::mx::Device::CPU>(__VA_ARGS__); \
    else MX_CUDA_KERNEL(fn)(__VA_ARGS__);                                         \
  } while (0)
