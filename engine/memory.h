// Device memory primitives behind Storage: allocate, free, copy and set bytes on CPU or CUDA.
#pragma once
#include <cstddef>

#include "engine/tensor.h"

namespace mx {

constexpr size_t kAlignment = 256;

void* device_alloc(size_t bytes, Device dev);
void device_free(void* ptr, Device dev);
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* ptr, Device dev, size_t bytes);

// A U8 tensor on `dev` holding a copy of `bytes` bytes from host memory: small host arrays a kernel
// reads where it runs (a mixing plan, a permutation).
Tensor bytes_on(Device dev, const void* src, size_t bytes);

}  // namespace mx
