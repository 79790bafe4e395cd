// The CUDA backend's tests that are not per-op twin checks (those, convolution, linear and a small
// network of every op included, are cases of the harness in tests/ops/op_cases.cpp): tensors on the
// device, one-line errors, and the sync mode. Skipped without a GPU. One CPU test, beside them:
// MIXUP_REQUIRE_GPU=1 turns the skip of a GPU test into a failure.
#include <gtest/gtest.h>

#include <cmath>

#include <cstdlib>
#include <filesystem>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "tests/cuda_fixtures.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
using namespace mx::test;

namespace {

// ---- tensors on the device ----

TEST_F(CudaTest, TensorsCopyViewFillAndReadBackOnTheDevice) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const std::vector<float> v = random_floats(1003, rng);
  Tensor t = Tensor::from_vector(v, {17, 59}, Device::CUDA);
  EXPECT_EQ(t.device(), Device::CUDA);
  EXPECT_EQ(t.to_vector<float>(), v);
  EXPECT_EQ(t.to(Device::CPU).to_vector<float>(), v);
  EXPECT_EQ(t.clone().to_vector<float>(), v);
  EXPECT_EQ(t.slice(3, 5).to_vector<float>(), std::vector<float>(v.begin() + 3 * 59, v.begin() + 5 * 59));
  EXPECT_EQ(t.slice(16, 17).view({59}).to_vector<float>()[58], v.back());
  Tensor u = Tensor::empty({17, 59}, DType::F32, Device::CUDA);
  u.copy_from(t.to(Device::CPU));
  EXPECT_EQ(u.to_vector<float>(), v);
  u.fill(2.5f);
  EXPECT_EQ(u.to_vector<float>(), std::vector<float>(v.size(), 2.5f));
  u.zero();
  EXPECT_EQ(u.to_vector<float>(), std::vector<float>(v.size(), 0.f));
  EXPECT_EQ(Tensor::full({1}, 4.25f, Device::CUDA).item<float>(), 4.25f);
}

// ---- errors ----

// Device labels are not read back; one outside the classes gives a NaN loss, never an out-of-bounds read.
TEST_F(CudaTest, LabelOutsideTheClassesGivesANanLossOnTheDevice) {
  Tensor logits = Tensor::zeros({2, 10}, DType::F32, Device::CUDA);
  Tensor ya = Tensor::from_vector(std::vector<int32_t>{1, 10}, {2}, Device::CUDA);
  Tensor lam = Tensor::full({2}, 1.f, Device::CUDA);
  EXPECT_TRUE(std::isnan(ops::mixed_cross_entropy(logits, ya, ya, lam).item<float>()));
}

TEST_F(CudaTest, TensorsOnDifferentDevicesAreAOneLineError) {
  Tensor a = Tensor::zeros({4}, DType::F32, Device::CPU), b = Tensor::zeros({4}, DType::F32, Device::CUDA);
  expect_error([&] { ops::add(a, b); }, {"add", "cpu", "cuda"});
}

// An allocation beyond the device's memory is mx::OutOfMemory with the free and total bytes (after the
// pool gave its cache back and tried again), and the error is consumed: the next op works. The memory
// report counts what this process's pool holds unused as free (other test processes share the GPU, so
// only that part is compared).
TEST_F(CudaTest, AnAllocationBeyondTheDeviceIsOutOfMemoryAndTheDeviceStaysUsable) {
  const cuda::MemoryInfo before = cuda::memory_info();
  ASSERT_GT(before.total, 0u);
  EXPECT_LE(before.free, before.total);
  EXPECT_LE(before.cached, before.free);
  expect_error([] { Tensor::empty({int64_t{1} << 40}, DType::F32, Device::CUDA); },
               {"out of GPU memory: cudaMalloc", "bytes failed on cuda:", "bytes free"});
  EXPECT_THROW(Tensor::empty({int64_t{1} << 40}, DType::F32, Device::CUDA), OutOfMemory);
  Tensor t = Tensor::full({1000}, 1.5f, Device::CUDA);
  EXPECT_EQ(ops::add(t, t).to_vector<float>(), std::vector<float>(1000, 3.f));
  { Tensor big = Tensor::empty({int64_t{64} << 20}, DType::F32, Device::CUDA); }  // 256 MiB back to the pool
  cuda::synchronize();
  const cuda::MemoryInfo after = cuda::memory_info();
  EXPECT_GE(after.cached, size_t{256} << 20) << "the freed block stays in the pool (not on a device without pools)";
  EXPECT_GE(after.free, after.cached) << "and counts as free";
}

// With MIXUP_SYNC=1 a fault inside a kernel is reported by the op that caused it. The fault ruins the
// process's CUDA context, so it happens in a child process (a death test that re-runs this binary).
TEST_F(CudaTest, SyncModeNamesTheOpThatFaulted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("MIXUP_SYNC", "1", 1);
        float* unmapped = reinterpret_cast<float*>(uintptr_t{4096});
        try {
          MX_CUDA_KERNEL(relu_forward)(unmapped, unmapped, int64_t{1} << 20);
          std::fprintf(stderr, "no error reported\n");
        } catch (const Error& e) {
          std::fprintf(stderr, "%s\n", e.what());
        }
        std::exit(3);
      },
      ::testing::ExitedWithCode(3), "CUDA op relu_forward failed at .* on cuda:[0-9]+: ");
}

// ---- MIXUP_REQUIRE_GPU (a CPU test: without a GPU, GPU tests skip unless it is set) ----

// Runs one GPU test of this binary in a child process, MIXUP_REQUIRE_GPU set to `require` (unset for "").
RunResult run_one_gpu_test(const std::string& require, const TempDir& tmp) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string env = require.empty() ? "-u MIXUP_REQUIRE_GPU" : "MIXUP_REQUIRE_GPU=" + require;
  return run_command("env " + env + " '" + self + "' --gtest_filter=CudaTest.TensorsCopyViewFillAndReadBackOnTheDevice",
                     tmp);
}

TEST(RequireGpu, TurnsTheSkipOfAGpuTestIntoAFailureThatShowsTheDeviceReport) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a GPU is present: " << cuda::device_summary();
  TempDir tmp;
  const std::string report = cuda::device_report();
  if (cuda::built_with_cuda()) {
    for (const char* part : {"cudaGetDeviceCount: error ", "CUDA driver ", ", runtime "}) {
      EXPECT_NE(report.find(part), std::string::npos) << report;
    }
  }

  const RunResult failed = run_one_gpu_test("1", tmp);
  EXPECT_NE(failed.status, 0) << failed.out;
  EXPECT_NE(failed.out.find("[  FAILED  ] 1 test"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("MIXUP_REQUIRE_GPU is set, but there is no usable CUDA device: " + report),
            std::string::npos) << failed.out;

  for (const std::string& unset : {std::string(), std::string("0")}) {
    const RunResult skipped = run_one_gpu_test(unset, tmp);
    EXPECT_EQ(skipped.status, 0) << "MIXUP_REQUIRE_GPU=" << unset << "\n" << skipped.out;
    EXPECT_NE(skipped.out.find("[  SKIPPED ] 1 test"), std::string::npos) << skipped.out;
  }
}

}  // namespace
