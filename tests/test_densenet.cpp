// DenseNet-BC (its layout and parameter counts are checked with the zoo, tests/test_zoo.cpp): initialisation,
// and the memory-efficient mode against the naive one: the same outputs, gradients and running statistics,
// in at most half the activation memory. Also the recomputation core itself (engine/autograd.h) and the
// storage byte counter it is measured with. The GPU test (suite CudaTest) runs the efficient-against-naive
// comparison on the device.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/parameters.h"
#include "models/models.h"
#include "tests/cuda_fixtures.h"
#include "tests/ops/op_inputs.h"

using namespace mx;
using mx::test::CudaTest;

namespace {

struct StepResult {
  std::vector<float> logits;
  nn::NamedTensors grads_and_buffers;  // every parameter's gradient, then every buffer
  size_t activation_peak = 0;      // bytes above what was held before the forward
};

std::shared_ptr<nn::Module> densenet(const std::string& name, bool efficient, int in_channels = 3) {
  models::ModelSpec spec;
  spec.in_channels = in_channels;
  spec.memory_efficient = efficient;
  spec.seed = 5;
  return models::make_model(name, spec);
}

// One training forward and backward of `model` on `x` with a fixed loss, on `dev`.
StepResult train_step(nn::Module& model, const Tensor& x, Device dev) {
  ParameterStore store(model, dev);
  store.zero_grad();
  const Tensor images = x.to(dev);
  const int64_t n = x.size(0);
  std::vector<int32_t> ya(n), yb(n);
  for (int64_t i = 0; i < n; ++i) ya[i] = static_cast<int32_t>(i % 10), yb[i] = static_cast<int32_t>((3 * i + 1) % 10);
  const Tensor la = Tensor::from_vector(ya, {n}).to(dev), lb = Tensor::from_vector(yb, {n}).to(dev),
               lam = Tensor::full({n}, 0.7f, dev);
  const size_t before = memory_stats(dev).in_use;
  reset_peak_memory(dev);
  StepResult r;
  {
    const Tensor logits = model(images);
    ops::mixed_cross_entropy(logits, la, lb, lam).backward();
    r.logits = logits.to(Device::CPU).to_vector<float>();
  }
  r.activation_peak = memory_stats(dev).peak - before;
  for (const auto& [name, p] : model.named_parameters())
    r.grads_and_buffers.emplace_back(name + ".grad", p.grad().to(Device::CPU).clone());
  for (const auto& [name, b] : model.named_buffers()) r.grads_and_buffers.emplace_back(name, b.to(Device::CPU).clone());
  return r;
}

// The efficient mode against the naive one on `dev`: see the tests below.
void expect_efficient_equals_naive(Device dev) {
  const Tensor x = test::random_images(2, 1, 8, 11);
  auto naive = densenet("densenet-bc-100", false, 1), efficient = densenet("densenet-bc-100", true, 1);
  const StepResult a = train_step(*naive, x, dev), b = train_step(*efficient, x, dev);
  EXPECT_EQ(a.logits, b.logits);
  ASSERT_EQ(a.grads_and_buffers.size(), b.grads_and_buffers.size());
  for (size_t i = 0; i < a.grads_and_buffers.size(); ++i) {
    const Tensor &ta = a.grads_and_buffers[i].second, &tb = b.grads_and_buffers[i].second;
    EXPECT_EQ(a.grads_and_buffers[i].first, b.grads_and_buffers[i].first);
    if (ta.dtype() == DType::I64) EXPECT_EQ(ta.to_vector<int64_t>(), tb.to_vector<int64_t>()) << a.grads_and_buffers[i].first;
    else EXPECT_EQ(ta.to_vector<float>(), tb.to_vector<float>()) << a.grads_and_buffers[i].first;
  }
  EXPECT_GT(b.activation_peak, 0u);
  EXPECT_LE(2 * b.activation_peak, a.activation_peak) << "efficient " << b.activation_peak << " bytes, naive "
                                                      << a.activation_peak;
}
}  // namespace

TEST(DenseNet, InitialisationIsKaimingFanOutWithAZeroClassifierBias) {
  auto m = densenet("densenet-bc-100", true);
  for (const auto& [name, t] : m->named_parameters()) {
    if (name == "features.denseblock3.denselayer16.conv1.weight") {  // [48, 456, 1, 1]: fan_out 48
      const std::vector<float> v = t.to_vector<float>();
      double sq = 0;
      for (float x : v) sq += static_cast<double>(x) * x;
      EXPECT_NEAR(std::sqrt(sq / static_cast<double>(v.size())), std::sqrt(2.0 / 48), 0.01 * std::sqrt(2.0 / 48));
    }
    if (name == "classifier.bias") {
      EXPECT_EQ(t.to_vector<float>(), std::vector<float>(10, 0.f));
    }
  }
}

// Same seed, so the same weights: the efficient mode runs the same kernels on the same values in the same
// order, so outputs, gradients and running statistics are bitwise equal (the gradient of each feature map
// is summed over its consumers in the same order in both graphs).
TEST(DenseNet, MemoryEfficientModeGivesTheNaiveGradientsInHalfTheMemory) { expect_efficient_equals_naive(Device::CPU); }

// The same on the GPU: cuDNN's algorithm choice is cached per shape and the batch-norm reductions run in a
// fixed order, so the two modes again run identical kernels.
TEST_F(CudaTest, DenseNetMemoryEfficientModeMatchesTheNaiveOneOnTheGpu) { expect_efficient_equals_naive(Device::CUDA); }

TEST(Recompute, KeepsNoIntermediateAndGivesTheDirectGradients) {
  std::mt19937 rng(1);
  Tensor a = test::random_tensor({2, 3, 4, 5}, rng), b = test::random_tensor({2, 2, 4, 5}, rng);
  a.set_requires_grad(true), b.set_requires_grad(true);
  const auto f = [](const std::vector<Tensor>& xs) { return ops::relu(ops::concat_channels(xs)); };
  const Tensor seed = test::random_tensor({2, 5, 4, 5}, rng);
  run_backward(f({a, b}), seed);
  const std::vector<float> ga = a.grad().to_vector<float>(), gb = b.grad().to_vector<float>();
  a.set_grad(Tensor()), b.set_grad(Tensor());
  const Tensor y = recompute_in_backward(f, {a, b});
  EXPECT_STREQ(y.grad_fn()->name, "recompute_in_backward");
  EXPECT_EQ(y.grad_fn()->inputs.size(), 2u);  // a and b themselves: no concat or relu node was kept
  run_backward(y, seed);
  EXPECT_EQ(a.grad().to_vector<float>(), ga);
  EXPECT_EQ(b.grad().to_vector<float>(), gb);
}

TEST(Recompute, BatchNormUpdatesItsRunningStatisticsOnce) {
  std::mt19937 rng(4);
  nn::BatchNorm2d bn(3);
  Tensor x = test::random_tensor({4, 3, 2, 2}, rng);
  x.set_requires_grad(true);
  const Tensor y = recompute_in_backward([&bn](const std::vector<Tensor>& xs) { return bn(xs[0]); }, {x});
  const std::vector<float> mean = bn.running_mean.to_vector<float>();
  run_backward(y, test::random_tensor({4, 3, 2, 2}, rng));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), mean);
  EXPECT_EQ(bn.num_batches_tracked.to_vector<int64_t>(), std::vector<int64_t>{1});
  EXPECT_TRUE(bn.weight.grad().defined());
  EXPECT_FALSE(recomputing());
}

TEST(MemoryStats, CountsTensorBytesAndTheirPeak) {
  const size_t base = memory_stats(Device::CPU).in_use;
  reset_peak_memory(Device::CPU);
  {
    Tensor a = Tensor::empty({1000});  // 4000 bytes
    Tensor b = Tensor::empty({10}, DType::U8);
    EXPECT_EQ(memory_stats(Device::CPU).in_use, base + 4010);
  }
  EXPECT_EQ(memory_stats(Device::CPU).in_use, base);
  EXPECT_EQ(memory_stats(Device::CPU).peak, base + 4010);
  reset_peak_memory(Device::CPU);
  EXPECT_EQ(memory_stats(Device::CPU).peak, base);
}
