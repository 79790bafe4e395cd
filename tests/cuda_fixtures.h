// GPU test helpers: a fixture that skips without a device, device buffers framed by poisoned guard
// regions (out-of-bounds writes and unwritten outputs both show), fresh random host data with its seed
// in the failure message, and comparisons tied to float32 precision.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/memory.h"
#include "engine/tensor.h"

namespace mx::test {

// GPU tests derive from this: they skip themselves on a machine without a CUDA device.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << cuda::device_summary();
  }
};

// A seed that differs from run to run, reported with any failure of the enclosing scope.
struct FreshSeed {
  uint32_t value = std::random_device{}();
  ::testing::ScopedTrace trace{__FILE__, __LINE__, "random seed " + std::to_string(value)};
};

inline std::vector<float> random_floats(int64_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

// A 4-byte pattern no kernel writes: a NaN with a payload for floats.
constexpr uint32_t kPoison = 0x7FC0DEADu;

// n elements of T on the GPU between two guard regions of kGuard elements (256 bytes, so the data
// keeps the pool's alignment). Everything starts poisoned.
template <typename T>
class Guarded {
 public:
  static_assert(sizeof(T) == 4, "the poison pattern is 4 bytes");
  static constexpr int64_t kGuard = 64;

  explicit Guarded(int64_t n) : n_(n), buf_(Tensor::empty({n + 2 * kGuard}, DType::F32, Device::CUDA)) {
    std::vector<uint32_t> poison(static_cast<size_t>(n + 2 * kGuard), kPoison);
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
    std::vector<uint32_t> all(static_cast<size_t>(n_ + 2 * kGuard));
    device_copy(all.data(), Device::CPU, buf_.raw(), Device::CUDA, all.size() * 4);
    for (int64_t i = 0; i < kGuard; ++i) {
      ASSERT_EQ(all[static_cast<size_t>(i)], kPoison) << "write before the output, " << kGuard - i << " elements";
      ASSERT_EQ(all[static_cast<size_t>(kGuard + n_ + i)], kPoison) << "write past the output, element " << n_ + i;
    }
  }

 private:
  int64_t n_;
  Tensor buf_;
};

// A device copy of a host vector, framed by guards.
inline Guarded<float> on_device(const std::vector<float>& v) {
  Guarded<float> g(static_cast<int64_t>(v.size()));
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

inline double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return v.empty() ? 0 : std::sqrt(s / static_cast<double>(v.size()));
}

// Every element within tol relative to max(|want|, the root mean square of want, scale): rounding
// differences are judged against the values' typical size (or `scale`, the size of the terms that
// cancel into them), so outputs near zero do not demand a relative accuracy no float32 sum has. No
// output may be left poisoned.
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const char* what,
                         double scale = 0) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double floor = std::max({rms(want), scale, 1e-30});
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NE(bits_of(got[i]), kPoison) << what << ": element " << i << " was never written";
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    ASSERT_LE(err, tol * std::max(std::fabs(static_cast<double>(want[i])), floor))
        << what << ": element " << i << " is " << got[i] << ", CPU twin " << want[i] << " (tolerance " << tol << ")";
  }
}

// ||got - want|| / ||want||, the normwise relative error.
inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace mx::test
