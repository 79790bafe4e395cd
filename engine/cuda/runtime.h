// CUDA runtime glue visible to host code: device query, memory from the stream-ordered pool, copies
// and waits on the compute stream, and per-category event timing for benchmarks. In a build without
// CUDA these report "no device", throw on use, and time nothing, so callers need no #ifdefs.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace mx::cuda {

bool built_with_cuda();
int device_count();          // 0 when the build has no CUDA, the driver is missing, or no GPU is present
std::string device_summary();  // "NVIDIA H100 80GB HBM3 (sm_90)" or why there is none
// For diagnosing a machine whose GPU is not usable: what cudaGetDeviceCount returned (error code and
// string), and the driver and runtime versions, in one line.
std::string device_report();
// Makes GPU `index` this process's device (one GPU per data-parallel rank); call before any other
// CUDA work. Throws a one-line mx::Error, naming `why` (the rank), when the machine has no GPU `index`
// or GPU work has already begun.
void use_device(int index, const std::string& why);
// True when CUDA_VISIBLE_DEVICES names a single device and it is there: a launcher such as
// srun --gpus-per-task=1 gave this process one GPU of its own, device 0 whatever its local rank.
bool one_visible_gpu();

// Memory and copies, all ordered on the compute stream (engine/cuda/stream.h). A copy to the host
// waits for the stream; the other copies and memsets return at once. An allocation the GPU cannot
// serve throws mx::OutOfMemory naming the bytes asked for and those free.
void* alloc(size_t bytes);
void free(void* ptr);
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void memset_zero(void* ptr, size_t bytes);
void synchronize();  // waits for all work queued on the compute stream
struct MemoryInfo {
  // Bytes of this process's GPU: free counts the device's free memory (cudaMemGetInfo) and `cached`,
  // what this process's memory pool holds unused, since allocations take from both.
  size_t free = 0, total = 0, cached = 0;
};
MemoryInfo memory_info();

// Event timing by category (benchmarks): while profiling is on, each ProfileScope brackets the device
// work queued during its lifetime with two events. profile_collect() waits for the stream and returns
// the milliseconds per category since the last call, in first-seen order.
void set_profiling(bool on);
int profile_begin(const char* category);  // -1 when profiling is off
void profile_end(int range);
std::vector<std::pair<std::string, double>> profile_collect();

class ProfileScope {
 public:
  explicit ProfileScope(const char* category) : range_(profile_begin(category)) {}
  ~ProfileScope() { profile_end(range_); }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  int range_;
};

}  // namespace mx::cuda
