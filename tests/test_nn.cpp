// nn modules and the parameter store: PyTorch names and order, default initialisation, train/eval,
// the flat parameter and gradient buffers.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/parameters.h"
#include "tests/expect_error.h"

using namespace mx;

namespace {

std::vector<std::string> names(const nn::NamedTensors& ts) {
  std::vector<std::string> out;
  for (const auto& entry : ts) out.push_back(entry.first);
  return out;
}

// A module with its own parameters and buffer plus children, to pin down the traversal order.
// forward adds the parameter "w" (shape [2]) to x.
class Toy : public nn::Module {
 public:
  explicit Toy(std::mt19937& rng) {
    w = register_parameter("w", Tensor::from_vector<float>({1.f, 2.f}, {2}));
    register_buffer("count", Tensor::zeros({}, DType::I64));
    auto body = register_module("body", std::make_shared<nn::Sequential>());
    body->push_back(std::make_shared<nn::Conv2d>(2, 3, 3, ops::Conv2dArgs{}, true, rng));
    body->push_back(std::make_shared<nn::BatchNorm2d>(3));
    body->push_back(std::make_shared<nn::ReLU>());
    head = register_module("head", std::make_shared<nn::Linear>(4, 5, false, rng));
  }
  Tensor forward(const Tensor& x) override { return ops::add(x, w); }
  Tensor w;
  std::shared_ptr<nn::Linear> head;
};

}  // namespace

TEST(NN, StateDictOrderIsOwnParamsThenOwnBuffersThenChildren) {
  std::mt19937 rng(0);
  Toy toy(rng);
  EXPECT_EQ(names(toy.state_dict()),
            (std::vector<std::string>{"w", "count", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                                      "body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked",
                                      "head.weight"}));
  EXPECT_EQ(names(toy.named_parameters()), (std::vector<std::string>{"w", "body.0.weight", "body.0.bias",
                                                                     "body.1.weight", "body.1.bias", "head.weight"}));
  EXPECT_EQ(names(toy.named_buffers()), (std::vector<std::string>{"count", "body.1.running_mean",
                                                                  "body.1.running_var", "body.1.num_batches_tracked"}));
  for (const auto& [name, p] : toy.named_parameters()) EXPECT_TRUE(p.requires_grad()) << name;
  for (const auto& [name, b] : toy.named_buffers()) EXPECT_FALSE(b.requires_grad()) << name;
}

TEST(NN, LayerShapesFollowPyTorchLayouts) {
  std::mt19937 rng(0);
  nn::Conv2d conv(6, 8, 3, ops::Conv2dArgs{1, 1, 2}, false, rng);
  EXPECT_EQ(conv.weight.shape(), (Shape{8, 3, 3, 3}));  // OIHW with C / groups
  EXPECT_FALSE(conv.bias.defined());
  EXPECT_EQ(conv.state_dict().size(), 1u);
  nn::Linear lin(7, 4, true, rng);
  EXPECT_EQ(lin.weight.shape(), (Shape{4, 7}));
  EXPECT_EQ(lin.bias.shape(), (Shape{4}));
}

TEST(NN, BatchNormStartsAtPyTorchDefaults) {
  nn::BatchNorm2d bn(3);
  EXPECT_EQ(bn.weight.to_vector<float>(), std::vector<float>(3, 1.f));
  EXPECT_EQ(bn.bias.to_vector<float>(), std::vector<float>(3, 0.f));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), std::vector<float>(3, 0.f));
  EXPECT_EQ(bn.running_var.to_vector<float>(), std::vector<float>(3, 1.f));
  EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::I64);
  EXPECT_EQ(bn.num_batches_tracked.shape(), Shape{});
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 0);
}

TEST(NN, DefaultInitIsKaimingUniformWithASqrt5) {
  std::mt19937 rng(3);
  nn::Conv2d conv(16, 32, 3, ops::Conv2dArgs{}, true, rng);  // fan_in 144: bound 1/12
  const float bound = 1.f / 12.f;
  for (const Tensor& t : {conv.weight, conv.bias}) {
    std::vector<float> v = t.to_vector<float>();
    double mean = 0, max_abs = 0;
    for (float x : v) {
      EXPECT_LE(std::fabs(x), bound);
      mean += x / static_cast<double>(v.size());
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(x)));
    }
    EXPECT_NEAR(mean, 0.0, bound * 0.2);
    EXPECT_GT(max_abs, bound * 0.8);  // spans the whole interval, not a narrower one
  }
}

TEST(NN, InitIsDeterministicPerGenerator) {
  std::mt19937 a(5), b(5), c(6);
  nn::Linear la(10, 3, true, a), lb(10, 3, true, b), lc(10, 3, true, c);
  EXPECT_EQ(la.weight.to_vector<float>(), lb.weight.to_vector<float>());
  EXPECT_EQ(la.bias.to_vector<float>(), lb.bias.to_vector<float>());
  EXPECT_NE(la.weight.to_vector<float>(), lc.weight.to_vector<float>());
}

TEST(NN, TrainAndEvalPropagateToEveryDescendant) {
  std::mt19937 rng(0);
  Toy toy(rng);
  EXPECT_TRUE(toy.is_training());
  toy.eval();
  EXPECT_FALSE(toy.is_training());
  EXPECT_FALSE(toy.head->is_training());
  toy.train();
  EXPECT_TRUE(toy.head->is_training());
}

TEST(NN, MaxPoolPassesSmallMapsThrough) {
  nn::MaxPool2d pool(2, 2);
  Tensor x = Tensor::full({2, 3, 1, 1}, 4.f);
  Tensor y = pool(x);
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_EQ(y.raw(), x.raw());
}

TEST(NN, SequentialNamesChildrenByIndex) {
  nn::Sequential seq;
  seq.push_back(std::make_shared<nn::ReLU>());
  seq.push_back(std::make_shared<nn::BatchNorm2d>(2));
  EXPECT_EQ(seq.size(), 2u);
  EXPECT_EQ(names(seq.named_parameters()), (std::vector<std::string>{"1.weight", "1.bias"}));
}

TEST(NN, ParameterStorePacksValuesIntoOneBuffer) {
  std::mt19937 rng(1);
  Toy toy(rng);
  std::vector<std::vector<float>> before;
  for (const auto& [name, p] : toy.named_parameters()) before.push_back(p.to_vector<float>());
  ParameterStore store(toy);
  const float* base = store.params().data<float>();
  int64_t count = 0;
  size_t i = 0;
  for (const auto& [name, p] : toy.named_parameters()) {
    EXPECT_EQ(p.to_vector<float>(), before[i++]) << name;
    const float* at = p.data<float>();
    EXPECT_GE(at, base);
    EXPECT_LE(at + p.numel(), base + store.size());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(at) % 256, 0u) << name;
    count += p.numel();
  }
  EXPECT_EQ(store.num_parameters(), count);
  EXPECT_EQ(names(store.named()), names(toy.named_parameters()));
  // Writing through the flat buffer is seen by the module's own tensor.
  store.params().data<float>()[0] = 42.f;
  EXPECT_EQ(toy.w.to_vector<float>()[0], 42.f);
}

TEST(NN, ParameterStorePacksTheF32BuffersIntoABufferOfTheirOwn) {
  std::mt19937 rng(1);
  Toy toy(rng);
  toy.named_buffers()[1].second.fill(0.25f);  // body.1.running_mean: values are kept
  ParameterStore store(toy);
  const float* base = store.buffers().data<float>();
  std::vector<const float*> starts;
  for (const auto& [name, b] : toy.named_buffers()) {
    if (b.dtype() != DType::F32) continue;  // "count" and num_batches_tracked stay as they are
    starts.push_back(b.data<float>());
    EXPECT_GE(b.data<float>(), base) << name;
    EXPECT_LE(b.data<float>() + b.numel(), base + store.buffers().numel()) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data<float>()) % 256, 0u) << name;
  }
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(toy.named_buffers()[1].second.to_vector<float>(), std::vector<float>(3, 0.25f));
  EXPECT_EQ(toy.named_buffers()[2].second.to_vector<float>(), std::vector<float>(3, 1.f));  // running_var
  store.buffers().fill(-1.f);  // one write reaches every F32 buffer
  EXPECT_EQ(toy.named_buffers()[2].second.to_vector<float>(), std::vector<float>(3, -1.f));
  EXPECT_EQ(ParameterStore(*std::make_shared<nn::ReLU>()).buffers().numel(), 0);
}

TEST(NN, GradientsLandInTheFlatBufferAndAccumulate) {
  std::mt19937 rng(1);
  Toy toy(rng);
  ParameterStore store(toy);
  const float* gbase = store.grads().data<float>();
  EXPECT_EQ(toy.w.grad().data<float>(), gbase);  // "w" is the first parameter
  Tensor x = Tensor::from_vector<float>({0.f, 0.f}, {2});
  Tensor seed = Tensor::from_vector<float>({1.f, -2.f}, {2});
  run_backward(toy(x), seed);
  run_backward(toy(x), seed);
  EXPECT_EQ(gbase[0], 2.f);
  EXPECT_EQ(gbase[1], -4.f);
  EXPECT_EQ(toy.w.grad().to_vector<float>(), (std::vector<float>{2.f, -4.f}));
  store.zero_grad();
  for (float g : store.grads().to_vector<float>()) EXPECT_EQ(g, 0.f);
  EXPECT_EQ(toy.w.grad().data<float>(), gbase);  // still the view after zeroing
}

// ---- GAN layers: InstanceNorm2d, ReflectionPad2d, ConvTranspose2d (MixCycleGAN) ----

TEST(NN, InstanceNormHasWeightAndBiasOnlyWhenAffine) {
  nn::InstanceNorm2d plain(3), affine(3, true);
  EXPECT_TRUE(plain.state_dict().empty());
  EXPECT_EQ(names(affine.state_dict()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(affine.weight.to_vector<float>(), std::vector<float>(3, 1.f));
  EXPECT_EQ(affine.bias.to_vector<float>(), std::vector<float>(3, 0.f));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1.f, 3.f);
  std::vector<float> v(2 * 3 * 4 * 5);
  for (float& e : v) e = u(rng);
  const std::vector<float> y = plain(Tensor::from_vector(v, {2, 3, 4, 5})).to_vector<float>();
  for (int plane = 0; plane < 6; ++plane) {  // every plane at mean 0 and biased variance 1 / (1 + eps / var)
    double mean = 0, sq = 0;
    for (int j = 0; j < 20; ++j) mean += y[plane * 20 + j] / 20.0;
    for (int j = 0; j < 20; ++j) sq += (y[plane * 20 + j] - mean) * (y[plane * 20 + j] - mean) / 20.0;
    EXPECT_NEAR(mean, 0.0, 1e-6) << plane;
    EXPECT_NEAR(sq, 1.0, 1e-4) << plane;
  }
  test::expect_error([&] { plain(Tensor::zeros({1, 4, 3, 3})); }, {"InstanceNorm2d", "3 channels"});
}

TEST(NN, ReflectionPadGrowsEverySideByPad) {
  nn::ReflectionPad2d pad(2);
  EXPECT_TRUE(pad.state_dict().empty());
  EXPECT_EQ(pad(Tensor::zeros({1, 2, 3, 4})).shape(), (Shape{1, 2, 7, 8}));
  test::expect_error([] { nn::ReflectionPad2d(-1); }, {"ReflectionPad2d"});
}

// weight [in, out / groups, k, k] and PyTorch's fan_in weight.size(1) * k * k = 8 * 9: bound 1/sqrt(72),
// narrower than the 1/6 that in / groups * k * k would give.
TEST(NN, ConvTransposeLayoutAndInitFollowPyTorch) {
  std::mt19937 rng(3);
  nn::ConvTranspose2d up(8, 16, 3, ops::ConvTranspose2dArgs{2, 1, 1, 2}, true, rng);
  EXPECT_EQ(names(up.state_dict()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(up.weight.shape(), (Shape{8, 8, 3, 3}));
  EXPECT_EQ(up.bias.shape(), (Shape{16}));
  const float bound = 1.f / std::sqrt(72.f);
  for (const Tensor& t : {up.weight, up.bias}) {
    double max_abs = 0;
    for (float x : t.to_vector<float>()) {
      EXPECT_LE(std::fabs(x), bound);
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(x)));
    }
    EXPECT_GT(max_abs, bound * 0.8);
  }
  EXPECT_EQ(up(Tensor::zeros({1, 8, 5, 5})).shape(), (Shape{1, 16, 10, 10}));
  nn::ConvTranspose2d zero(4, 2, 4, ops::ConvTranspose2dArgs{2, 1, 0, 1}, false);
  EXPECT_FALSE(zero.bias.defined());
  EXPECT_EQ(zero.weight.to_vector<float>(), std::vector<float>(4 * 2 * 16, 0.f));
  test::expect_error([] { nn::ConvTranspose2d(4, 2, 3, ops::ConvTranspose2dArgs{2, 1, 2, 1}, true); },
                     {"ConvTranspose2d", "output_padding"});
  test::expect_error([] { nn::ConvTranspose2d(4, 3, 3, ops::ConvTranspose2dArgs{1, 0, 0, 2}, true); },
                     {"ConvTranspose2d", "groups"});
}
