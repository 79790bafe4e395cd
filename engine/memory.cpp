// Storage back end: 256-byte aligned host memory, or the CUDA stream-ordered pool when built with CUDA;
// plus the tests' guarded mode (poisoned guard regions around every allocation, checked at free).
#include "engine/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

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

void* raw_alloc(size_t rounded, Device dev) {
  if (dev == Device::CUDA) {
    void* p = cuda::alloc(rounded);
    MX_CHECK(reinterpret_cast<uintptr_t>(p) % kAlignment == 0, "CUDA pool returned memory not aligned to ",
             kAlignment, " bytes");
    return p;
  }
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw OutOfMemory(detail::concat("out of host memory allocating ", rounded, " bytes"));
  return p;
}

void raw_free(void* ptr, Device dev) {
  if (dev == Device::CUDA) cuda::free(ptr); else std::free(ptr);
}

// ---- accounting ----

struct Usage {
  std::atomic<size_t> in_use{0}, peak{0};
};

Usage& usage(Device dev) {
  static Usage per_device[2];
  return per_device[dev == Device::CUDA ? 1 : 0];
}

void count_alloc(size_t bytes, Device dev) {
  Usage& u = usage(dev);
  const size_t now = u.in_use.fetch_add(bytes) + bytes;
  size_t peak = u.peak.load();
  while (now > peak && !u.peak.compare_exchange_weak(peak, now)) {
  }
}

// ---- guarded mode ----

constexpr size_t kGuard = kAlignment;

struct GuardedBlock {
  char* base;       // start of the front guard
  size_t bytes;     // the payload asked for, at base + kGuard
  size_t total;     // front guard + payload rounded up + back guard
  Device dev;
  uint32_t guard;   // this block's guard word
};

struct GuardState {
  std::atomic<int> scopes{0};
  std::atomic<uint32_t> blocks_made{0};
  std::atomic<size_t> live{0};
  std::mutex mutex;
  std::unordered_map<void*, GuardedBlock> blocks;  // by payload pointer
  std::vector<std::string> violations;             // found when blocks were freed
};

// Never destroyed: blocks still alive at exit (caches) are freed after every static destructor has run.
GuardState& guard_state() {
  static GuardState* state = new GuardState;
  return *state;
}

// A quiet NaN of its own for each block's guards, never kPoisonWord: a kernel that reads past one
// input's end and writes the value past its output's end changes the output's guard (NaN arithmetic
// passes an operand's payload through).
uint32_t next_guard_word() {
  const uint32_t k = ++guard_state().blocks_made;
  const uint32_t word = 0x7FC00000u | ((k * 2654435761u) & 0x003FFFFFu);
  return word == kPoisonWord ? word ^ 1u : word;
}

// n bytes of a 4-byte word repeated: offset k holds byte k % 4 of it (little-endian, as the floats).
std::vector<uint8_t> word_bytes(uint32_t word, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t k = 0; k < n; ++k) v[k] = static_cast<uint8_t>(word >> (8 * (k % 4)));
  return v;
}

// Guards of the block's own word around a payload of kPoisonWord (rounding slack counts as guard).
std::vector<uint8_t> fresh_block(const GuardedBlock& b) {
  std::vector<uint8_t> v = word_bytes(b.guard, b.total);
  const std::vector<uint8_t> payload = word_bytes(kPoisonWord, b.bytes);
  std::copy(payload.begin(), payload.end(), v.begin() + kGuard);
  return v;
}

void* guarded_alloc(size_t bytes, size_t rounded, Device dev) {
  const size_t total = rounded + 2 * kGuard;
  const GuardedBlock b{static_cast<char*>(raw_alloc(total, dev)), bytes, total, dev, next_guard_word()};
  const std::vector<uint8_t> init = fresh_block(b);
  device_copy(b.base, dev, init.data(), Device::CPU, total);
  GuardState& g = guard_state();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.blocks.emplace(b.base + kGuard, b);
  g.live.store(g.blocks.size());
  return b.base + kGuard;
}

// Bytes of [offset, offset + n) of the block that no longer hold its guard word: how many, and the
// first and last of them (offsets from the block's base).
struct Damage {
  size_t count = 0, first = 0, last = 0;
};

Damage damage_in(const GuardedBlock& b, size_t offset, size_t n) {
  std::vector<uint8_t> got(n);
  device_copy(got.data(), Device::CPU, b.base + offset, b.dev, n);
  const std::vector<uint8_t> want = word_bytes(b.guard, offset + n);
  Damage d;
  for (size_t k = 0; k < n; ++k) {
    if (got[k] == want[offset + k]) continue;
    if (d.count++ == 0) d.first = offset + k;
    d.last = offset + k;
  }
  return d;
}

// One line per damaged guard of b, with byte offsets from the payload's start (negative before it).
std::vector<std::string> guard_damage(const GuardedBlock& b) {
  const std::string what = detail::concat(device_name(b.dev), " block of ", b.bytes, " bytes: ");
  std::vector<std::string> lines;
  try {
    const Damage before = damage_in(b, 0, kGuard), after = damage_in(b, kGuard + b.bytes, b.total - kGuard - b.bytes);
    const auto at = [](size_t offset) { return static_cast<int64_t>(offset) - static_cast<int64_t>(kGuard); };
    if (before.count)
      lines.push_back(detail::concat(what, before.count, " bytes written before the start (bytes ", at(before.first),
                                     " to ", at(before.last), ")"));
    if (after.count)
      lines.push_back(detail::concat(what, after.count, " bytes written past the end (bytes ", at(after.first),
                                     " to ", at(after.last), ")"));
  } catch (const Error& e) {
    lines.push_back(what + "could not read its guards: " + e.what());
  }
  return lines;
}

// Frees ptr if it is a guarded block, recording any damage; false when it is not one.
bool free_guarded(void* ptr) {
  GuardState& g = guard_state();
  GuardedBlock b{};
  {
    std::lock_guard<std::mutex> lock(g.mutex);
    auto it = g.blocks.find(ptr);
    if (it == g.blocks.end()) return false;
    b = it->second;
    g.blocks.erase(it);
    g.live.store(g.blocks.size());
  }
  std::vector<std::string> lines = guard_damage(b);
  if (!lines.empty()) {
    std::lock_guard<std::mutex> lock(g.mutex);
    g.violations.insert(g.violations.end(), lines.begin(), lines.end());
  }
  raw_free(b.base, b.dev);
  return true;
}

}  // namespace

GuardedAllocations::GuardedAllocations() { ++guard_state().scopes; }
GuardedAllocations::~GuardedAllocations() { --guard_state().scopes; }

std::vector<std::string> guard_violations() {
  GuardState& g = guard_state();
  std::vector<std::string> found;
  std::vector<GuardedBlock> live;
  {
    std::lock_guard<std::mutex> lock(g.mutex);
    found.swap(g.violations);
    for (const auto& entry : g.blocks) live.push_back(entry.second);
  }
  for (const GuardedBlock& b : live) {
    std::vector<std::string> lines = guard_damage(b);
    found.insert(found.end(), lines.begin(), lines.end());
  }
  return found;
}

void* device_alloc(size_t bytes, Device dev) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* p = guard_state().scopes.load() > 0 ? guarded_alloc(bytes, rounded, dev) : raw_alloc(rounded, dev);
  count_alloc(bytes, dev);
  return p;
}

void device_free(void* ptr, size_t bytes, Device dev) {
  if (!ptr) return;
  usage(dev).in_use.fetch_sub(bytes);
  if (guard_state().live.load() > 0 && free_guarded(ptr)) return;
  raw_free(ptr, dev);
}

MemoryStats memory_stats(Device dev) {
  const Usage& u = usage(dev);
  return {u.in_use.load(), u.peak.load()};
}

void reset_peak_memory(Device dev) { usage(dev).peak.store(usage(dev).in_use.load()); }

size_t memory_capacity(Device dev) {
  if (dev == Device::CUDA) return cuda::memory_info().free;
  return static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
}

std::string bytes_text(double bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  for (; bytes >= 1000 && u < 6; ++u) bytes /= 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return buf;
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
