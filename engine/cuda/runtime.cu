// CUDA runtime glue: device discovery that tolerates machines with no GPU or driver, the compute
// stream, memory from CUDA's stream-ordered pool (plain cudaMalloc where the device has no pools),
// launch checks (MIXUP_SYNC=1) and event timing.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/stream.h"

namespace mx::cuda {

namespace {

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

struct Runtime {
  int device = 0;
  int multiprocessors = 0;
  cudaStream_t stream = nullptr;
  bool pools = true;  // false where the device has no stream-ordered pools (some vGPU set-ups)
  bool sync_each_op = env_flag("MIXUP_SYNC");
};

// Whether `device` has stream-ordered memory pools; where it has none, says once on stderr that
// plain cudaMalloc/cudaFree serve instead. Where it has them, the default pool's release threshold
// is raised so freed blocks stay cached for the next allocation instead of going back to the driver
// at every synchronisation; an allocation that fails gives the cache back and tries once more
// (pool_alloc).
bool set_up_pool(int device) {
  int supported = 0;
  CHECK_CUDA(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device));
  if (!supported) {
    std::fprintf(stderr, "notice: cuda:%d has no memory pools (cudaDevAttrMemoryPoolsSupported = 0); "
                 "using cudaMalloc/cudaFree\n", device);
    return false;
  }
  cudaMemPool_t pool;
  CHECK_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep_all = UINT64_MAX;
  CHECK_CUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  return true;
}

bool g_runtime_started = false;  // set once, by the first thread to use the GPU

// Set up on first use and never torn down: at process exit the CUDA runtime may already be gone.
Runtime& runtime() {
  static Runtime* rt = [] {
    g_runtime_started = true;
    MX_CHECK(device_count() > 0, "CUDA device requested, but there is ", device_summary());
    auto* r = new Runtime;
    CHECK_CUDA(cudaGetDevice(&r->device));
    CHECK_CUDA(cudaDeviceGetAttribute(&r->multiprocessors, cudaDevAttrMultiProcessorCount, r->device));
    CHECK_CUDA(cudaStreamCreate(&r->stream));
    r->pools = set_up_pool(r->device);
    return r;
  }();
  return *rt;
}

// "13.0" for CUDA's 13000; "none" for 0 (no driver).
std::string cuda_version(int v) {
  return v == 0 ? "none" : std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Errors at exit, when the runtime is unloading, are expected and not worth a warning.
bool is_shutdown(cudaError_t err) { return err == cudaErrorCudartUnloading || err == cudaErrorContextIsDestroyed; }

// For calls that must not throw (they run in destructors): logs the failure, then consumes the error it
// left as the runtime's last error, so the next launch check does not blame its own op for it.
void warn_and_clear(const char* call, cudaError_t err) {
  std::fprintf(stderr, "warning: %s failed: %s\n", call, cudaGetErrorString(err));
  cudaGetLastError();
}

struct Range {
  std::string category;
  cudaEvent_t start = nullptr, stop = nullptr;
};

struct Profiler {
  bool on = false;
  std::vector<Range> ranges;
  std::vector<cudaEvent_t> spare;  // events of collected ranges, reused
};

Profiler& profiler() {
  static Profiler* p = new Profiler;
  return *p;
}

// Records an event on the compute stream; null (with a warning) on failure, as it runs in destructors.
cudaEvent_t record_event() {
  Profiler& p = profiler();
  cudaEvent_t e = nullptr;
  if (!p.spare.empty()) {
    e = p.spare.back();
    p.spare.pop_back();
  } else if (const cudaError_t err = cudaEventCreate(&e); err != cudaSuccess) {
    warn_and_clear("profiling: cudaEventCreate", err);
    return nullptr;
  }
  const cudaError_t err = cudaEventRecord(e, current_stream());
  if (err == cudaSuccess) return e;
  warn_and_clear("profiling: cudaEventRecord", err);
  p.spare.push_back(e);
  return nullptr;
}

}  // namespace

bool built_with_cuda() { return true; }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" / "no device" error
    return 0;
  }
  return n;
}

std::string device_summary() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
  }
  if (n == 0) return "no CUDA device";
  int d = 0;
  CHECK_CUDA(cudaGetDevice(&d));
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, d));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

std::string device_report() {
  int n = 0, driver = 0, runtime_version = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  cudaGetLastError();
  const std::string count = err == cudaSuccess ? std::to_string(n) + " device(s)"
                                               : "error " + std::to_string(static_cast<int>(err)) + " " +
                                                     cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime_version);
  return "cudaGetDeviceCount: " + count + "; CUDA driver " + cuda_version(driver) + ", runtime " +
         cuda_version(runtime_version);
}

bool one_visible_gpu() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  return visible && *visible && !std::strchr(visible, ',') && device_count() == 1;
}

void use_device(int index, const std::string& why) {
  MX_CHECK(!g_runtime_started, why, ": GPU ", index, " must be chosen before the first GPU work, but cuda:",
           runtime().device, " is in use already");
  const int n = device_count();
  MX_CHECK(index < n, why, ": needs GPU ", index, " but this machine has ", n,
           " (one GPU per local rank: start at most as many ranks per node as there are GPUs)");
  CHECK_CUDA(cudaSetDevice(index));
}

cudaStream_t current_stream() { return runtime().stream; }
int multiprocessor_count() { return runtime().multiprocessors; }

void check_launch(const char* op, const char* file, int line) {
  const Runtime& rt = runtime();
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && rt.sync_each_op) err = cudaStreamSynchronize(rt.stream);
  if (err != cudaSuccess)
    MX_FAIL("CUDA op ", op, " failed at ", file, ":", line, " on cuda:", rt.device, ": ", cudaGetErrorString(err),
            rt.sync_each_op ? "" : " (errors surface late; rerun with MIXUP_SYNC=1 to name the op that failed)");
}

namespace {

cudaMemPool_t default_pool() {
  cudaMemPool_t pool;
  CHECK_CUDA(cudaDeviceGetDefaultMemPool(&pool, runtime().device));
  return pool;
}

// cudaMallocAsync, and where the pool cannot grow, once more after the stream's frees have completed
// and the pool's unused memory went back to the device (a fragmented cache may hold enough in pieces).
cudaError_t pool_alloc(void** p, size_t bytes) {
  cudaError_t err = cudaMallocAsync(p, bytes, current_stream());
  if (err != cudaErrorMemoryAllocation) return err;
  cudaGetLastError();
  if ((err = cudaStreamSynchronize(current_stream())) != cudaSuccess) return err;
  if ((err = cudaMemPoolTrimTo(default_pool(), 0)) != cudaSuccess) return err;
  return cudaMallocAsync(p, bytes, current_stream());
}

}  // namespace

void* alloc(size_t bytes) {
  void* p = nullptr;
  const bool pools = runtime().pools;
  const cudaError_t err = pools ? pool_alloc(&p, bytes) : cudaMalloc(&p, bytes);
  const char* call = pools ? "cudaMallocAsync" : "cudaMalloc";
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: later launch checks must not report it again
    const MemoryInfo m = memory_info();
    throw OutOfMemory(detail::concat("out of GPU memory: ", call, " of ", bytes, " bytes failed on cuda:",
                                     runtime().device, " (", m.free, " of ", m.total, " bytes free)"));
  }
  MX_CHECK(err == cudaSuccess, call, " of ", bytes, " bytes failed on cuda:", runtime().device, ": ",
           cudaGetErrorString(err));
  return p;
}

MemoryInfo memory_info() {
  MemoryInfo m;
  if (!runtime().pools) {
    CHECK_CUDA(cudaMemGetInfo(&m.free, &m.total));
    return m;
  }
  const cudaMemPool_t pool = default_pool();
  uint64_t reserved = 0, used = 0;
  CHECK_CUDA(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved));
  CHECK_CUDA(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used));
  CHECK_CUDA(cudaMemGetInfo(&m.free, &m.total));
  m.cached = static_cast<size_t>(reserved - std::min(used, reserved));
  m.free += m.cached;
  return m;
}

void free(void* ptr) {
  const bool pools = runtime().pools;
  cudaError_t err = pools ? cudaFreeAsync(ptr, current_stream()) : cudaFree(ptr);
  if (err == cudaSuccess || is_shutdown(err)) return;
  warn_and_clear(pools ? "cudaFreeAsync" : "cudaFree", err);
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                      : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  cudaStream_t s = current_stream();
  CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, kind, s));
  if (!dst_on_device) CHECK_CUDA(cudaStreamSynchronize(s));
}

void memset_zero(void* ptr, size_t bytes) { CHECK_CUDA(cudaMemsetAsync(ptr, 0, bytes, current_stream())); }

void synchronize() { CHECK_CUDA(cudaStreamSynchronize(current_stream())); }

void set_profiling(bool on) { profiler().on = on; }

int profile_begin(const char* category) {
  Profiler& p = profiler();
  if (!p.on) return -1;
  p.ranges.push_back({category, record_event(), nullptr});
  return static_cast<int>(p.ranges.size()) - 1;
}

void profile_end(int range) {
  Profiler& p = profiler();
  if (range >= 0 && static_cast<size_t>(range) < p.ranges.size()) p.ranges[static_cast<size_t>(range)].stop = record_event();
}

std::vector<std::pair<std::string, double>> profile_collect() {
  Profiler& p = profiler();
  std::vector<std::pair<std::string, double>> totals;
  if (p.ranges.empty()) return totals;
  synchronize();
  for (const Range& r : p.ranges) {
    float ms = 0;
    if (r.start && r.stop) CHECK_CUDA(cudaEventElapsedTime(&ms, r.start, r.stop));
    auto it = std::find_if(totals.begin(), totals.end(), [&](const auto& t) { return t.first == r.category; });
    if (it == totals.end()) totals.emplace_back(r.category, ms);
    else it->second += ms;
    for (cudaEvent_t e : {r.start, r.stop})
      if (e) p.spare.push_back(e);
  }
  p.ranges.clear();
  return totals;
}

}  // namespace mx::cuda
