// Device memory primitives behind Storage: allocate, free, copy and set bytes on CPU or CUDA; and a
// test-only guarded mode that frames every allocation with poison to catch out-of-bounds writes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mx {

constexpr size_t kAlignment = 256;

void* device_alloc(size_t bytes, Device dev);
void device_free(void* ptr, size_t bytes, Device dev);  // bytes: as given to device_alloc

// Bytes held by tensor storage on a device (as asked for, before alignment; not the kernels' own scratch
// or cuDNN workspaces), and the most held at once since the last reset_peak_memory (or the start).
struct MemoryStats {
  size_t in_use = 0, peak = 0;
};
MemoryStats memory_stats(Device dev);
// What a device can hold at most now: the machine's physical memory on the CPU (sysconf), the GPU's free
// memory on CUDA (cudaMemGetInfo).
size_t memory_capacity(Device dev);
std::string bytes_text(double bytes);  // "602 GB" (powers of 1000, three digits)
void reset_peak_memory(Device dev);  // peak = in_use
void device_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void device_memset_zero(void* ptr, Device dev, size_t bytes);

// A U8 tensor on `dev` holding a copy of `bytes` bytes from host memory: small host arrays a kernel
// reads where it runs (a mixing plan, a permutation).
Tensor bytes_on(Device dev, const void* src, size_t bytes);

// Guarded allocations (tests only). While a GuardedAllocations scope is alive, each new allocation on
// either device lies between two guard regions of kAlignment bytes (the payload keeps its alignment,
// and the rounding slack after it is guarded too). The payload starts filled with kPoisonWord, a NaN
// with a payload no kernel writes, so an output element that was never written reads as that NaN; the
// guards hold a NaN word of their own per block, so even a guard value copied from another block shows.
// Guards are verified when the block is freed and whenever guard_violations() is called; allocations
// made in the scope stay guarded until they are freed. Scopes may nest; the normal path pays one
// atomic load per allocation and free.
constexpr uint32_t kPoisonWord = 0x7FC0DEADu;

class GuardedAllocations {
 public:
  GuardedAllocations();
  ~GuardedAllocations();
  GuardedAllocations(const GuardedAllocations&) = delete;
  GuardedAllocations& operator=(const GuardedAllocations&) = delete;
};

// One line per damaged guard region, of blocks freed since the last call and of blocks alive now
// ("cuda block of 40 bytes: 4 bytes written past the end (bytes 40 to 43)"); clears the former.
std::vector<std::string> guard_violations();

}  // namespace mx
