// Storage back end: 256-byte aligned host memory, or the CUDA stream-ordered pool when built with CUDA.
#include "engine/memory.h"

#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/cuda/runtime.h"

namespace mx {

namespace {
// Activations of a training step are allocated and freed every step. glibc serves large blocks with
// fresh mmap()s whose pages fault in again each time; keeping them in the heap makes reuse cheap.
const bool g_heap_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();
}  // namespace

void* device_alloc(size_t bytes, Device dev) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  if (dev == Device::CUDA) {
    void* p = cuda::alloc(rounded);
    MX_CHECK(reinterpret_cast<uintptr_t>(p) % kAlignment == 0, "CUDA pool returned memory not aligned to ",
             kAlignment, " bytes");
    return p;
  }
  void* p = std::aligned_alloc(kAlignment, rounded);
  MX_CHECK(p, "out of host memory allocating ", bytes, " bytes");
  return p;
}

void device_free(void* ptr, Device dev) {
  if (!ptr) return;
  if (dev == Device::CUDA) cuda::free(ptr); else std::free(ptr);
}

void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) std::memcpy(dst, src, bytes);
  else cuda::copy(dst, dst_dev == Device::CUDA, src, src_dev == Device::CUDA, bytes);
}

void device_memset_zero(void* ptr, Device dev, size_t bytes) {
  if (dev == Device::CPU) std::memset(ptr, 0, bytes); else cuda::memset_zero(ptr, bytes);
}

Tensor bytes_on(Device dev, const void* src, size_t bytes) {
  Tensor t = Tensor::empty({static_cast<int64_t>(bytes)}, DType::U8, dev);
  device_copy(t.raw(), dev, src, Device::CPU, bytes);
  return t;
}

}  // namespace mx
