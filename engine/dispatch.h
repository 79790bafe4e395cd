// Device dispatch: an op front-end calls MX_DISPATCH(device, kernel, args...) and gets the CPU twin
// (mx::kernels::cpu) or the CUDA launcher (mx::kernels::cuda) of kernels/<name>.h, which share one
// signature; MX_DISPATCH_IN does the same for other namespace pairs (engine/cpu and engine/cuda). In
// a build without CUDA the CUDA branch throws, and the CUDA launchers are never referenced.
#pragma once
#include "engine/error.h"
#include "engine/tensor.h"

namespace mx {
[[noreturn]] inline void no_cuda_kernel(const char* name) {
  MX_FAIL("op ", name, ": no CUDA kernel in this build; run with --device cpu");
}
}  // namespace mx

#ifdef MIXUP_HAVE_CUDA
#define MX_CUDA_CALL(ns, fn, ...) ns::fn(__VA_ARGS__)
#else
#define MX_CUDA_CALL(ns, fn, ...) ::mx::no_cuda_kernel(#fn)
#endif

#define MX_DISPATCH_IN(dev, cpu_ns, cuda_ns, fn, ...)          \
  do {                                                        \
    if ((dev) == ::mx::Device::CPU) cpu_ns::fn(__VA_ARGS__);  \
    else MX_CUDA_CALL(cuda_ns, fn, __VA_ARGS__);              \
  } while (0)

#define MX_DISPATCH(dev, fn, ...) MX_DISPATCH_IN(dev, ::mx::kernels::cpu, ::mx::kernels::cuda, fn, __VA_ARGS__)
