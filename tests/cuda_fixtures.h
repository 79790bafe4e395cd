// GPU test helpers: a fixture that skips without a device (or fails, under MIXUP_REQUIRE_GPU=1),
// device buffers framed by poisoned guard regions (out-of-bounds writes and unwritten outputs both
// show), fresh random host data with its seed in the failure message, and comparisons tied to float32
// precision (from tests/ops/op_compare.h).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/memory.h"
#include "engine/tensor.h"
#include "tests/ops/op_compare.h"
#include "tests/ops/op_inputs.h"

namespace mx::test {

// Without a usable CUDA device the calling test is skipped, or, when MIXUP_REQUIRE_GPU is set (to
// anything but 0), fails with the device report: the GPU session sets it, so that a broken driver
// shows as failures instead of as skipped tests. Callers return when the test IsSkipped() or
// HasFatalFailure(). GPU test suites have "Cuda" in their name (tests/CMakeLists.txt labels them gpu).
inline void skip_or_fail_without_gpu() {
  if (cuda::device_count() > 0) return;
  const char* require = std::getenv("MIXUP_REQUIRE_GPU");
  if (require && *require && std::strcmp(require, "0") != 0)
    FAIL() << "MIXUP_REQUIRE_GPU is set, but there is no usable CUDA device: " << cuda::device_report();
  GTEST_SKIP() << cuda::device_report();
}

// GPU tests derive from this.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override { skip_or_fail_without_gpu(); }
};

// A seed that differs from run to run, reported with any failure of the enclosing scope.
struct FreshSeed {
  uint32_t value = std::random_device{}();
  ::testing::ScopedTrace trace{__FILE__, __LINE__, "random seed " + std::to_string(value)};
};

// A 4-byte pattern no kernel writes: a NaN with a payload for floats (the guarded allocator's too).
constexpr uint32_t kPoison = kPoisonWord;

// n elements of T (4 or 8 bytes) on the GPU between two guard regions of kGuard elements (256 or 512
// bytes, so the data keeps the pool's alignment). Everything starts poisoned, word by word (a double
// of two poison words is a NaN too).
template <typename T>
class Guarded {
 public:
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "the poison pattern fills 4-byte words");
  static constexpr int64_t kGuard = 64;
  static constexpr int64_t kWords = sizeof(T) / 4;  // poison words per element

  explicit Guarded(int64_t n) : n_(n), buf_(Tensor::empty({(n + 2 * kGuard) * kWords}, DType::F32, Device::CUDA)) {
    std::vector<uint32_t> poison(static_cast<size_t>((n + 2 * kGuard) * kWords), kPoison);
    device_copy(buf_.raw(), Device::CUDA, poison.data(), Device::CPU, poison.size() * 4);
  }
  T* data() { return static_cast<T*>(buf_.raw()) + kGuard; }
  const T* data() const { return static_cast<const T*>(buf_.raw()) + kGuard; }
  int64_t size() const { return n_; }

  void upload(const std::vector<T>& v) {
    ASSERT_EQ(static_cast<int64_t>(v.size()), n_);
    device_copy(data(), Device::CUDA, v.data(), Device::CPU, v.size() * sizeof(T));
  }
  std::vector<T> download() const {
    std::vector<T> v(static_cast<size_t>(n_));
    device_copy(v.data(), Device::CPU, data(), Device::CUDA, v.size() * sizeof(T));
    return v;
  }
  // The guard regions still hold the poison: nothing was written outside [0, n).
  void expect_guards_intact() const {
    const int64_t guard = kGuard * kWords, words = n_ * kWords;
    std::vector<uint32_t> all(static_cast<size_t>(words + 2 * guard));
    device_copy(all.data(), Device::CPU, buf_.raw(), Device::CUDA, all.size() * 4);
    for (int64_t i = 0; i < guard; ++i) {
      ASSERT_EQ(all[static_cast<size_t>(i)], kPoison)
          << "write before the output, " << kGuard - i / kWords << " elements";
      ASSERT_EQ(all[static_cast<size_t>(guard + words + i)], kPoison)
          << "write past the output, element " << n_ + i / kWords;
    }
  }

 private:
  int64_t n_;
  Tensor buf_;
};

// A device copy of a host vector, framed by guards.
template <typename T>
Guarded<T> on_device(const std::vector<T>& v) {
  Guarded<T> g(static_cast<int64_t>(v.size()));
  g.upload(v);
  return g;
}

struct Nchw {
  int64_t n, c, h, w;
  int64_t numel() const { return n * c * h * w; }
};
inline void PrintTo(const Nchw& s, std::ostream* os) {
  *os << "[" << s.n << "," << s.c << "," << s.h << "," << s.w << "]";
}

inline uint32_t bits_of(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

// Bit-for-bit equality (a NaN equals the same NaN), and no output left poisoned.
template <typename T>
void expect_bitwise_equal(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t g, w;
    std::memcpy(&g, &got[i], 4);
    std::memcpy(&w, &want[i], 4);
    ASSERT_EQ(g, w) << what << ": element " << i << (g == kPoison ? " was never written" : "") << ": got " << got[i]
                    << ", CPU twin " << want[i];
  }
}

// Every element within tol of the CPU twin relative to its typical size (op_compare.h), none poisoned.
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const char* what,
                         double scale = 0) {
  const std::string problem = compare_close(got, want, tol, what, scale);
  ASSERT_TRUE(problem.empty()) << problem;
}

}  // namespace mx::test
