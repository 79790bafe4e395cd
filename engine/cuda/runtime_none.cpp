// The CUDA runtime glue of a build without CUDA: there is never a device, and using one is an error.
#include "engine/cuda/runtime.h"
#include "engine/error.h"

namespace mx::cuda {

bool built_with_cuda() { return false; }
int device_count() { return 0; }
std::string device_summary() { return "no CUDA device (this build has no CUDA backend)"; }
std::string device_report() { return device_summary(); }
void use_device(int, const std::string& why) { MX_FAIL(why, ": needs a GPU, but this build has no CUDA backend"); }
bool one_visible_gpu() { return false; }

namespace {
[[noreturn]] void unavailable() { MX_FAIL("CUDA memory requested, but this build has no CUDA backend"); }
}  // namespace

void* alloc(size_t) { unavailable(); }
void free(void*) {}
void copy(void*, bool, const void*, bool, size_t) { unavailable(); }
void memset_zero(void*, size_t) { unavailable(); }
void synchronize() {}
MemoryInfo memory_info() { unavailable(); }

void set_profiling(bool) {}
int profile_begin(const char*) { return -1; }
void profile_end(int) {}
std::vector<std::pair<std::string, double>> profile_collect() { return {}; }

}  // namespace mx::cuda
