// The guards of a training run. Non-finite steps: the step guard's record (CPU twin;
// tests/test_cuda_kernels.cpp compares the CUDA one), SGD leaving weights and momentum alone under its
// flag, and the Trainer stopping or skipping with a gradient poisoned by the test hook
// TrainCallbacks::after_backward. Sizes: the memory estimates against the machine's memory, and an
// allocation failure reported with the batch size. CudaGuardedRun repeats the skip on the GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "kernels/sgd.h"
#include "kernels/step_guard.h"
#include "tests/expect_error.h"
#include "tests/cuda_fixtures.h"
#include "tests/fixtures.h"
#include "engine/interrupt.h"
#include "engine/memory.h"
#include "train/sizes.h"
#include "train/trainer.h"

using namespace mx;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Record {
  float norm, loss, skip;
};

Record guard(const std::vector<float>& g, float loss, bool loss_decides) {
  Record r{};
  kernels::step_guard<Device::CPU>(&r.norm, g.data(), static_cast<int64_t>(g.size()), &loss, loss_decides);
  return r;
}

}  // namespace

TEST(StepGuard, RecordsTheNormAndLossAndFlagsNonFiniteSteps) {
  std::vector<float> g(1001, 0.5f);
  g[7] = 3.f;
  Record r = guard(g, 2.5f, true);
  EXPECT_FLOAT_EQ(r.norm, static_cast<float>(std::sqrt(1000 * 0.25 + 9)));
  EXPECT_EQ(r.loss, 2.5f);
  EXPECT_EQ(r.skip, 0.f);
  EXPECT_EQ(guard({}, 1.f, true).skip, 0.f);  // no parameters: norm 0
  for (float bad : {kNaN, kInf, -kInf}) {
    std::vector<float> poisoned = g;
    poisoned[1000] = bad;
    EXPECT_EQ(guard(poisoned, 1.f, true).skip, 1.f) << bad;
    EXPECT_FALSE(std::isfinite(guard(poisoned, 1.f, true).norm)) << bad;
    EXPECT_EQ(guard(g, bad, true).skip, 1.f) << "loss " << bad;
    EXPECT_EQ(guard(g, bad, false).skip, 0.f) << "several ranks: the loss does not decide";
  }
  // Finite elements whose norm lies beyond float range (the squares are summed in double).
  EXPECT_EQ(guard(std::vector<float>(4, 3e38f), 1.f, true).skip, 1.f);
  EXPECT_EQ(guard(std::vector<float>(4, 3e38f), 1.f, true).norm, kInf) << "6e38 is shown as infinite, not as FLT_MAX";
  EXPECT_EQ(guard({3.4028234e38f, 5e34f}, 1.f, true).norm, kInf) << "just beyond float range, which rounds to FLT_MAX";
  EXPECT_EQ(guard(std::vector<float>(4, 1e30f), 1.f, true).skip, 0.f);  // 1e60 in double, norm 2e30
}

TEST(StepGuard, SgdUnderASetFlagLeavesWeightsAndMomentumBitIdentical) {
  const int64_t n = 37;
  std::vector<float> w(n), buf(n), g(n);
  for (int64_t i = 0; i < n; ++i) w[i] = 0.1f * i - 1, buf[i] = 0.01f * i, g[i] = kNaN;
  const std::vector<float> w0 = w, buf0 = buf;
  const float skip = 1.f, go = 0.f;
  kernels::sgd_step<Device::CPU>(w.data(), g.data(), buf.data(), n, 0.1f, 0.9f, 1e-4f, true, false, &skip);
  EXPECT_EQ(std::memcmp(w.data(), w0.data(), n * 4), 0);
  EXPECT_EQ(std::memcmp(buf.data(), buf0.data(), n * 4), 0);
  std::fill(g.begin(), g.end(), 0.5f);
  std::vector<float> w_plain = w0, buf_plain = buf0;
  kernels::sgd_step<Device::CPU>(w.data(), g.data(), buf.data(), n, 0.1f, 0.9f, 1e-4f, true, false, &go);
  kernels::sgd_step<Device::CPU>(w_plain.data(), g.data(), buf_plain.data(), n, 0.1f, 0.9f, 1e-4f, true, false,
                                 nullptr);
  EXPECT_EQ(w, w_plain) << "a clear flag is an ordinary update";
  EXPECT_EQ(buf, buf_plain);
  EXPECT_NE(w, w0);
}

TEST(StepGuard, FrontEndChecksShapesAndTheSkipFlag) {
  Tensor rec = Tensor::zeros({3}), grads = Tensor::zeros({8}), loss = Tensor::zeros({1});
  EXPECT_NO_THROW(ops::step_guard(rec, grads, loss, true));
  Tensor short_rec = Tensor::zeros({2}), two_losses = Tensor::zeros({2});
  EXPECT_THROW(ops::step_guard(short_rec, grads, loss, true), Error);
  EXPECT_THROW(ops::step_guard(rec, grads, two_losses, true), Error);
}

namespace {

// A short quicknet run on the tiny dataset: 70 training images in batches of 16 (5 steps per epoch),
// with `poisoned` (epoch, step) pairs whose gradient gets a NaN between backward and the update.
class GuardedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "data");
    test::write_tiny_fashion_mnist(tmp_ / "data", 70, 30);
    interrupt::clear();
  }
  void TearDown() override { interrupt::clear(); }
  train::TrainConfig config(int64_t skips) const {
    train::TrainConfig c = test::tiny_run(tmp_ / "data", tmp_ / "run", 16);
    c.device = device_;
    c.skip_nonfinite = skips;
    return c;
  }
  train::TrainCallbacks callbacks() {
    train::TrainCallbacks cb;
    cb.notice = [this](const std::string& line) { notices_.push_back(line); };
    cb.after_backward = [this](int epoch, int64_t step, ParameterStore& store, optim::Optimizer& opt) {
      if (out_of_memory_) throw OutOfMemory("out of GPU memory: cudaMallocAsync of 123 bytes failed (test)");
      checkpoint::Metadata meta;
      states_.push_back({store.params().to_vector<float>(), opt.state(meta).at(0).second.to_vector<float>(),
                         store.buffers().to_vector<float>()});
      if (poisoned_.count({epoch, step})) store.grads().slice(0, 1).fill(kNaN);  // on the run's device
      if (stop_at_ == std::make_pair(epoch, step)) interrupt::request(SIGTERM);
    };
    return cb;
  }
  struct State {
    std::vector<float> weights, momentum;  // before the step's update
    std::vector<float> buffers;            // after the step's forward pass
  };
  test::TempDir tmp_;
  std::string device_ = "cpu";
  std::set<std::pair<int, int64_t>> poisoned_;
  std::vector<std::string> notices_;
  std::vector<State> states_;  // one per step
  bool out_of_memory_ = false;  // every step's allocation fails
  std::pair<int, int64_t> stop_at_{0, 0};  // a SIGTERM arrives during this step: a mid-epoch resume point
};

}  // namespace

TEST_F(GuardedRun, StopsNamingEpochAndStepAndKeepsTheLastCheckpoint) {
  poisoned_ = {{2, 3}};
  train::Trainer t(config(0), callbacks());
  t.epoch();
  const std::string checkpoint = test::read_file(tmp_ / "run/checkpoint.safetensors");
  const std::string state = test::read_file(tmp_ / "run/checkpoint.state.safetensors");
  ASSERT_FALSE(checkpoint.empty());
  test::expect_error([&] { t.epoch(); },
                     {"epoch 2 step 3: non-finite gradient norm (nan)",
                      "the last good checkpoint is " + (tmp_ / "run/checkpoint.safetensors") + " (the end of epoch 1)",
                      "--skip-nonfinite"});
  EXPECT_EQ(test::read_file(tmp_ / "run/checkpoint.safetensors"), checkpoint);
  EXPECT_EQ(test::read_file(tmp_ / "run/checkpoint.state.safetensors"), state);
}

// A stop request after a non-finite step reads the guard before it saves the resume point: the run
// ends with the non-finite error and the epoch's checkpoint is left as it was.
TEST_F(GuardedRun, NoResumePointIsSavedAfterANonFiniteStep) {
  poisoned_ = {{2, 2}};
  stop_at_ = {2, 3};
  train::Trainer t(config(0), callbacks());
  t.epoch();
  const std::string checkpoint = test::read_file(tmp_ / "run/checkpoint.safetensors");
  test::expect_error([&] { t.epoch(); }, {"epoch 2 step 2: non-finite gradient norm (nan)", "(the end of epoch 1)"});
  EXPECT_EQ(test::read_file(tmp_ / "run/checkpoint.safetensors"), checkpoint);
}

// After a resume in the middle of an epoch the guard names the epoch's own step numbers and the resume
// point as the last good checkpoint.
TEST_F(GuardedRun, StepsAfterAMidEpochResumeKeepTheirNumbers) {
  stop_at_ = {1, 2};
  {
    train::Trainer t(config(0), callbacks());
    EXPECT_THROW(t.epoch(), interrupt::Stopped);
  }
  interrupt::clear();
  stop_at_ = {0, 0};
  poisoned_ = {{1, 4}};
  train::TrainConfig c = config(0);
  c.resume = tmp_ / "run/checkpoint.safetensors";
  train::Trainer t(c, callbacks());
  test::expect_error([&] { t.epoch(); }, {"epoch 1 step 4: non-finite gradient norm (nan)",
                                          "the last good checkpoint is " + c.resume + " (epoch 1 step 2)"});
}

TEST_F(GuardedRun, SkipsUpToNStepsLeavingWeightsAndMomentumBitIdentical) {
  poisoned_ = {{1, 2}, {2, 4}};
  train::Trainer t(config(2), callbacks());
  t.run();
  ASSERT_EQ(states_.size(), 10u);
  for (size_t skipped : {1u, 8u}) {  // steps 1-2 and 2-4: their updates left no trace
    EXPECT_EQ(states_[skipped].weights, states_[skipped + 1].weights) << "step " << skipped + 1;
    EXPECT_EQ(states_[skipped].momentum, states_[skipped + 1].momentum) << "step " << skipped + 1;
  }
  EXPECT_NE(states_[2].weights, states_[3].weights) << "an ordinary step changes the weights";
  EXPECT_NE(states_[2].momentum, states_[3].momentum);
  for (float w : const_cast<ParameterStore&>(t.parameters()).params().to_vector<float>()) ASSERT_TRUE(std::isfinite(w));
  std::vector<std::string> skips;
  for (const std::string& n : notices_)
    if (n.find("update skipped") != std::string::npos) skips.push_back(n);
  ASSERT_EQ(skips.size(), 2u);
  EXPECT_NE(skips[0].find("epoch 1 step 2: non-finite gradient norm (nan)"), std::string::npos) << skips[0];
  EXPECT_NE(skips[1].find("epoch 2 step 4"), std::string::npos) << skips[1];
  EXPECT_NE(skips[1].find("2 of 2 allowed"), std::string::npos) << skips[1];
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "run/summary.json"));
}

// The forward pass of a skipped step moved the BatchNorm running statistics; they are put back, and the
// step is not counted in num_batches_tracked. The epoch's last step is poisoned, so the statistics after
// the epoch are those before that step.
TEST_F(GuardedRun, ASkippedStepLeavesTheRunningStatisticsAsTheyWere) {
  for (const bool poison : {true, false}) {
    states_.clear();
    poisoned_.clear();
    if (poison) poisoned_ = {{1, 5}};
    train::TrainConfig c = config(1);
    c.out = tmp_ / (poison ? "poisoned" : "plain");
    train::Trainer t(c, callbacks());
    t.epoch();
    ASSERT_EQ(states_.size(), 5u);
    ASSERT_FALSE(states_[4].buffers.empty());
    EXPECT_NE(states_[4].buffers, states_[3].buffers) << "a training forward pass updates them";
    const std::vector<float> after = t.parameters().buffers().to_vector<float>();
    EXPECT_EQ(after, states_[poison ? 3 : 4].buffers) << (poison ? "skipped: put back" : "ordinary: kept");
    int counters = 0;
    for (const auto& [name, tensor] : checkpoint::load(c.out + "/checkpoint.safetensors").tensors) {
      if (name.find("num_batches_tracked") == std::string::npos) continue;
      ++counters;
      EXPECT_EQ(tensor.data<int64_t>()[0], poison ? 4 : 5) << name << ": the skipped step is not counted";
    }
    EXPECT_GT(counters, 0);
  }
}

// The same on the GPU: the guard's flag, SGD's skip and the restore of the running statistics all
// happen on the device, with no read-back inside the step.
class CudaGuardedRun : public GuardedRun {
 protected:
  void SetUp() override {
    test::skip_or_fail_without_gpu();
    if (IsSkipped() || HasFatalFailure()) return;
    GuardedRun::SetUp();
    device_ = "cuda";
  }
};

TEST_F(CudaGuardedRun, ASkippedStepLeavesWeightsMomentumAndRunningStatisticsBitIdentical) {
  if (IsSkipped() || HasFatalFailure()) return;
  poisoned_ = {{1, 2}, {1, 5}};
  train::Trainer t(config(2), callbacks());
  t.epoch();
  ASSERT_EQ(states_.size(), 5u);
  EXPECT_EQ(states_[1].weights, states_[2].weights) << "step 2 changed no weight";
  EXPECT_EQ(states_[1].momentum, states_[2].momentum);
  EXPECT_NE(states_[2].weights, states_[3].weights) << "step 3 is an ordinary step";
  EXPECT_NE(states_[4].buffers, states_[3].buffers) << "a training forward pass updates the running statistics";
  EXPECT_EQ(t.parameters().buffers().to_vector<float>(), states_[3].buffers)
      << "step 5 was skipped: its running statistics are put back";
  EXPECT_EQ(std::count_if(notices_.begin(), notices_.end(),
                          [](const std::string& n) { return n.find("update skipped") != std::string::npos; }),
            2);
}

TEST_F(GuardedRun, StopsAtTheStepPastTheAllowedSkips) {
  poisoned_ = {{1, 2}, {1, 3}, {2, 1}};
  train::Trainer t(config(2), callbacks());
  t.epoch();
  test::expect_error([&] { t.epoch(); }, {"epoch 2 step 1: non-finite gradient norm (nan)",
                                          "--skip-nonfinite 2 steps were skipped before this one"});
}

TEST_F(GuardedRun, SkippingEveryStepNeedsNoCount) {
  train::TrainConfig c = config(0);
  c.stop_on_nonfinite = false;
  poisoned_ = {{1, 1}, {1, 2}, {1, 3}};
  train::Trainer t(c, callbacks());
  EXPECT_NO_THROW(t.epoch());
  EXPECT_EQ(states_[0].weights, states_[3].weights);
  c.skip_nonfinite = 1;
  test::expect_error([&] { train::validate(c); }, {"--skip-nonfinite", "--stop-on-nonfinite false"});
}

// An allocation that fails inside a step is reported with the batch size and a hint.
TEST_F(GuardedRun, OutOfMemoryNamesTheBatchSize) {
  out_of_memory_ = true;
  train::Trainer t(config(0), callbacks());
  test::expect_error([&] { t.run(); }, {"epoch 1: out of GPU memory: cudaMallocAsync of 123 bytes",
                                        "at --batch-size 16; reduce --batch-size"});
}

TEST(MemorySizes, HostAllocationFailureIsOutOfMemory) {
  EXPECT_THROW(Tensor::empty({int64_t{1} << 60}, DType::F32, Device::CPU), OutOfMemory);
}

// Just above the machine's memory is refused with the bytes needed, naming the flags; just below passes.
TEST(MemorySizes, StepAndDecodedFolderAreCheckedAgainstTheMachinesMemory) {
  const double memory = static_cast<double>(memory_capacity(Device::CPU));
  ASSERT_GT(memory, 1e8);
  const double per_image = train::kStepBytesPerInputByte * 3 * 32 * 32 * 4;
  const auto batch = [&](double share) { return static_cast<int64_t>(share * memory / per_image); };
  EXPECT_NO_THROW(train::check_step_fits(batch(0.9), 3, 32, Device::CPU, false));
  test::expect_error([&] { train::check_step_fits(batch(1.1), 3, 32, Device::CPU, false); },
                     {"--batch-size " + std::to_string(batch(1.1)) + ": a training step of", "images of 3x32x32",
                      "bytes", "physical memory", "reduce --batch-size"});
  test::expect_error([&] { train::check_step_fits(batch(1.1), 3, 32, Device::CPU, true); },
                     {"with --image-size 32", "or --image-size"});
  const auto side = [&](double share) { return static_cast<int>(std::sqrt(share * memory / 1000 / 3)); };
  EXPECT_NO_THROW(train::check_decoded_fits(1000, 3, side(0.9), "dir"));
  test::expect_error([&] { train::check_decoded_fits(1000, 3, side(1.1), "dir"); },
                     {"--image-size " + std::to_string(side(1.1)) + ": decoding the 1000 images of dir", "bytes",
                      "--augment rrc"});
}
