// Training on the GPU: one PreAct ResNet-18 step against the same step on the CPU, the `mixup train`
// command choosing and using the GPU (and repeating bit for bit on resume), and, on a machine without
// a GPU, the fallback to the CPU with its one-line notice.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/cuda/runtime.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "models/models.h"
#include "tests/cuda_fixtures.h"
#include "tests/fixtures.h"

using namespace mx;
using namespace mx::test;
namespace fs = std::filesystem;

namespace {

// Forward, mixed-label loss, backward and SGD-Nesterov twice (the second step reads the momentum
// buffer) from identical weights on both devices, batch 5. Each step compares the loss, the gradient
// of every parameter, the updated weights and the BatchNorm running statistics.
TEST_F(CudaTest, PreActResNet18TrainingStepsMatchCpu) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const models::ModelSpec spec{3, 32, 10, seed.value};
  auto cpu_model = models::make_model("preact-resnet18", spec), gpu_model = models::make_model("preact-resnet18", spec);
  ParameterStore cpu_store(*cpu_model, Device::CPU), gpu_store(*gpu_model, Device::CUDA);
  optim::Sgd cpu_opt(cpu_store, {}), gpu_opt(gpu_store, {});
  ASSERT_EQ(gpu_store.params().to_vector<float>(), cpu_store.params().to_vector<float>());

  const int64_t n = 5;
  Tensor x = Tensor::from_vector(random_floats(n * 3 * 32 * 32, rng, -2.f, 2.f), {n, 3, 32, 32});
  Tensor ya = Tensor::from_vector(std::vector<int32_t>{3, 1, 4, 1, 5}, {n});
  Tensor yb = Tensor::from_vector(std::vector<int32_t>{9, 2, 6, 5, 3}, {n});
  Tensor lam = Tensor::from_vector(random_floats(n, rng, 0.f, 1.f), {n});
  for (int step = 1; step <= 2; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    cpu_store.zero_grad();
    gpu_store.zero_grad();
    Tensor lc = ops::mixed_cross_entropy((*cpu_model)(x), ya, yb, lam);
    Tensor lg = ops::mixed_cross_entropy((*gpu_model)(x.to(Device::CUDA)), ya.to(Device::CUDA), yb.to(Device::CUDA),
                                         lam.to(Device::CUDA));
    lc.backward();
    lg.backward();
    EXPECT_NEAR(lg.item<float>(), lc.item<float>(), 1e-4 * std::fabs(lc.item<float>()));
    for (size_t i = 0; i < cpu_store.named().size(); ++i) {
      const auto& [name, p] = cpu_store.named()[i];
      EXPECT_LT(relative_error(gpu_store.named()[i].second.grad().to_vector<float>(), p.grad().to_vector<float>()), 1e-3)
          << "gradient of " << name;
    }
    cpu_opt.step(0.1f);
    gpu_opt.step(0.1f);
    for (size_t i = 0; i < cpu_store.named().size(); ++i)
      EXPECT_LT(relative_error(gpu_store.named()[i].second.to_vector<float>(), cpu_store.named()[i].second.to_vector<float>()),
                1e-4)
          << "updated " << cpu_store.named()[i].first;
    const nn::NamedTensors cpu_buffers = cpu_model->named_buffers(), gpu_buffers = gpu_model->named_buffers();
    for (size_t i = 0; i < cpu_buffers.size(); ++i) {
      if (cpu_buffers[i].second.dtype() != DType::F32) continue;
      EXPECT_LT(relative_error(gpu_buffers[i].second.to_vector<float>(), cpu_buffers[i].second.to_vector<float>()), 1e-4)
          << cpu_buffers[i].first;
    }
  }
}

// `mixup train` on a tiny generated Fashion-MNIST.
class TrainCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "data");
    write_tiny_fashion_mnist(tmp_ / "data", 70, 30);
  }
  std::string run_args(const std::string& out, const std::string& extra) const {
    return "train --data-dir " + tmp_.path() + "/data --out " + out +
           " --epochs 2 --batch-size 16 --lr 0.05 --threads 1 --seed 3 --mix c " + extra;
  }
  TempDir tmp_;
};

class TrainCommandOnGpu : public TrainCommand {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << cuda::device_summary();
    TrainCommand::SetUp();
  }
};

TEST_F(TrainCommandOnGpu, AutoChoosesTheGpuAndNamesIt) {
  const std::string out = tmp_ / "auto";
  RunResult r = run_mixup(run_args(out, "--device auto"), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("device: " + cuda::device_summary() + "\n"), std::string::npos) << r.out;
  EXPECT_NE(read_file(out + "/summary.json").find("\"device\": \"cuda\""), std::string::npos);
}

// Deterministic kernels and cuDNN algorithms: a run resumed from its epoch-1 checkpoint ends with the
// same weights as the uninterrupted run, bit for bit.
TEST_F(TrainCommandOnGpu, ResumeRepeatsTheRunBitForBit) {
  const std::string full = tmp_ / "full", resumed = tmp_ / "resumed";
  RunResult first = run_mixup(run_args(full, "--device cuda --save-every 1"), tmp_);
  ASSERT_EQ(first.status, 0) << first.err;
  RunResult second = run_mixup(run_args(resumed, "--device cuda --resume " + full + "/epoch-1.safetensors"), tmp_);
  ASSERT_EQ(second.status, 0) << second.err;
  const std::string a = read_file(full + "/checkpoint.safetensors"), b = read_file(resumed + "/checkpoint.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "resumed weights differ from the uninterrupted run";
}

// Runs everywhere but on a GPU machine: the build with the CUDA backend (and the one without) trains
// on the CPU under --device auto and says why in one line; --device cuda refuses in one line.
TEST_F(TrainCommand, WithoutAGpuAutoFallsBackToTheCpuAndSaysSo) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a GPU is present: " << cuda::device_summary();
  const std::string out = tmp_ / "fallback";
  RunResult r = run_mixup(run_args(out, "--device auto"), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string notice = "device: " + cuda::device_summary() + "; running on the CPU\n";
  EXPECT_NE(r.out.find(notice), std::string::npos) << r.out;
  EXPECT_NE(notice.find(cuda::built_with_cuda() ? "no CUDA device" : "this build has no CUDA backend"),
            std::string::npos);
  EXPECT_NE(read_file(out + "/summary.json").find("\"device\": \"cpu\""), std::string::npos);

  RunResult refused = run_mixup(run_args(tmp_ / "refused", "--device cuda"), tmp_);
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.err.rfind("mixup: error: --device cuda: ", 0), 0u) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
}

}  // namespace
