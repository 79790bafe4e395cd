// Device dispatch: the one way from an op front-end (engine/ops_*.cpp) to a kernel.
//
// Every kernel in kernels/ is a function template on the device, declared once in kernels/<name>.h
// and never defined there:
//   template <Device D> void relu_forward(float* y, const float* x, int64_t n);
// Each backend defines its explicit specialisation, with the same signature:
//   kernels/<name>_cpu.cpp   template <> void relu_forward<Device::CPU>(...)   the CPU twin
//   kernels/<name>.cu        template <> void relu_forward<Device::CUDA>(...)  the CUDA launcher
//                            (<name>_cudnn.cpp where cuDNN does the work; CUDA builds only)
// A call compiles to a reference to that specialisation, which the linker finds in the twin's file (a
// missing twin is an undefined reference naming it). The specialisations are not declared in the
// header, though the standard asks for it ([temp.expl.spec]): that would write every signature again
// per backend, and GCC, Clang and nvcc link such calls as described.
//
// MX_DISPATCH(device, relu_forward, args...) runs kernels::relu_forward<Device::CPU>(args...) or
// MX_CUDA_KERNEL(relu_forward)(args...), which is kernels::relu_forward<Device::CUDA> in a CUDA build
// and, in a build without CUDA (which must never name a CUDA specialisation), a callable that throws
// "op relu_forward: no CUDA kernel in this build". Tests that compare the twins call
// kernels::fn<Device::CPU>(args...) and MX_CUDA_KERNEL(fn)(args...) directly; nothing else outside
// engine/ calls a kernel.
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

#define MX_DISPATCH(dev, fn, ...)                                                         \
  do {                                                                                    \
    if ((dev) == ::mx::Device::CPU) ::mx::kernels::fn<::mx::Device::CPU>(__VA_ARGS__);    \
    else MX_CUDA_KERNEL(fn)(__VA_ARGS__);                                                 \
  } while (0)
