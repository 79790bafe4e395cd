// CUDA runtime glue visible to host code: device query, memory from the stream-ordered pool, copies.
// In a build without CUDA these report "no device" and throw on use, so callers need no #ifdefs.
#pragma once
#include <cstddef>
#include <string>

namespace mx::cuda {

bool built_with_cuda();
int device_count();          // 0 when the build has no CUDA, the driver is missing, or no GPU is present
std::string device_summary();  // "NVIDIA H100 80GB HBM3 (sm_90)" or why there is none

void* alloc(size_t bytes);
void free(void* ptr);
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void memset_zero(void* ptr, size_t bytes);

}  // namespace mx::cuda
