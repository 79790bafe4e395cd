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
// of every parameter, the updated weights and the BatchNorm running statistics, normwise.
// Tolerances: the forward pass is continuous in rounding errors of ~1e-6, so the loss and the running
// statistics agree to 1e-4. Gradients are not quite continuous: a ReLU whose input lies within
// rounding of zero passes its gradient on one device and blocks it on the other. Among the ~10^6
// activations that happens about once a step, and it moves one channel's BatchNorm gradient by up to
// 1/sqrt(values in the channel), a few 1e-3 normwise, so gradients are held to 1e-2, and the weights'
// difference to 2e-2 of how far the weights have moved since the start (two steps, each within 1e-2;
// BatchNorm biases start at zero, so their own size is no yardstick). A real indexing or formula error
// is O(1).
// The seed is fixed, so the outcome is the same on every run.
TEST_F(CudaTest, PreActResNet18TrainingStepsMatchCpu) {
  std::mt19937 rng(20261126);
  const models::ModelSpec spec{3, 32, 10, 7};
  auto cpu_model = models::make_model("preact-resnet18", spec), gpu_model = models::make_model("preact-resnet18", spec);
  ParameterStore cpu_store(*cpu_model, Device::CPU), gpu_store(*gpu_model, Device::CUDA);
  optim::Sgd cpu_opt(cpu_store, {}), gpu_opt(gpu_store, {});
  ASSERT_EQ(gpu_store.params().to_vector<float>(), cpu_store.params().to_vector<float>());

  const int64_t n = 5;
  Tensor x = Tensor::from_vector(random_floats(n * 3 * 32 * 32, rng, -2.f, 2.f), {n, 3, 32, 32});
  Tensor ya = Tensor::from_vector(std::vector<int32_t>{3, 1, 4, 1, 5}, {n});
  Tensor yb = Tensor::from_vector(std::vector<int32_t>{9, 2, 6, 5, 3}, {n});
  Tensor lam = Tensor::from_vector(random_floats(n, rng, 0.f, 1.f), {n});
  std::vector<std::vector<float>> start;
  for (const auto& named : cpu_store.named()) start.push_back(named.second.to_vector<float>());
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
      EXPECT_LT(relative_error(gpu_store.named()[i].second.grad().to_vector<float>(), p.grad().to_vector<float>()), 1e-2)
          << "gradient of " << name;
    }
    cpu_opt.step(0.1f);
    gpu_opt.step(0.1f);
    for (size_t i = 0; i < cpu_store.named().size(); ++i) {
      const std::vector<float> wc = cpu_store.named()[i].second.to_vector<float>();
      const std::vector<float> wg = gpu_store.named()[i].second.to_vector<float>();
      double moved = 0, err = 0;
      for (size_t j = 0; j < wc.size(); ++j) {
        moved += std::pow(static_cast<double>(wc[j]) - start[i][j], 2);
        err += std::pow(static_cast<double>(wg[j]) - wc[j], 2);
      }
      EXPECT_LE(std::sqrt(err), 2e-2 * std::sqrt(moved)) << "updated " << cpu_store.named()[i].first;
    }
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

class CudaTrainCommand : public TrainCommand {
 protected:
  void SetUp() override {
    skip_or_fail_without_gpu();
    if (!IsSkipped() && !HasFatalFailure()) TrainCommand::SetUp();
  }
};

TEST_F(CudaTrainCommand, AutoChoosesTheGpuAndNamesIt) {
  const std::string out = tmp_ / "auto";
  RunResult r = run_mixup(run_args(out, "--device auto"), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("device: " + cuda::device_summary() + "\n"), std::string::npos) << r.out;
  EXPECT_NE(read_file(out + "/summary.json").find("\"device\": \"cuda\""), std::string::npos);
}

// Deterministic kernels and cuDNN algorithms: a run resumed from its epoch-1 checkpoint ends with the
// same weights as the uninterrupted run, bit for bit.
TEST_F(CudaTrainCommand, ResumeRepeatsTheRunBitForBit) {
  const std::string full = tmp_ / "full", resumed = tmp_ / "resumed";
  RunResult first = run_mixup(run_args(full, "--device cuda --save-every 1"), tmp_);
  ASSERT_EQ(first.status, 0) << first.err;
  RunResult second = run_mixup(run_args(resumed, "--device cuda --resume " + full + "/epoch-1.safetensors"), tmp_);
  ASSERT_EQ(second.status, 0) << second.err;
  const std::string a = read_file(full + "/checkpoint.safetensors"), b = read_file(resumed + "/checkpoint.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "resumed weights differ from the uninterrupted run";
}

// The training images kept on the GPU (--data-on-device on, one fused kernel per batch) against a
// loader thread and an uploaded float batch: with stitching only (pastes and copies are exact on both
// paths), the runs end with the same weights, bit for bit.
TEST_F(CudaTrainCommand, DataOnDeviceRepeatsTheLoaderRunBitForBit) {
  const std::string kept = tmp_ / "kept", loaded = tmp_ / "loaded";
  const std::string stitched = "--device cuda --mix hv --mix-per sample --translate 2 --data-on-device ";
  RunResult first = run_mixup(run_args(kept, stitched + "on"), tmp_);
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_NE(first.out.find("training images kept on cuda as uint8"), std::string::npos) << first.out;
  RunResult second = run_mixup(run_args(loaded, stitched + "off"), tmp_);
  ASSERT_EQ(second.status, 0) << second.err;
  const std::string a = read_file(kept + "/checkpoint.safetensors"), b = read_file(loaded + "/checkpoint.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the run with the images on the GPU ends with other weights";
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
