// The model zoo: PyTorch state_dict names and shapes of pytorch-cifar's PreActResNet18 and VGG('VGG11'),
// output shapes on Fashion-MNIST and CIFAR sized inputs, deterministic initialisation, the registry.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/autograd.h"
#include "models/models.h"
#include "tests/ops/op_inputs.h"
#include "tests/expect_error.h"

using namespace mx;
using mx::test::random_images;

namespace {

using KeyShapes = std::vector<std::pair<std::string, Shape>>;

KeyShapes key_shapes(const nn::Module& m) {
  KeyShapes out;
  for (const auto& [name, t] : m.state_dict()) out.emplace_back(name, t.shape());
  return out;
}

// state_dict() of kuangliu/pytorch-cifar PreActResNet18() (3 input channels, 10 classes): 102 entries.
const KeyShapes kPreActResNet18 = {
      {"conv1.weight", {64, 3, 3, 3}},
      {"layer1.0.bn1.weight", {64}},
      {"layer1.0.bn1.bias", {64}},
      {"layer1.0.bn1.running_mean", {64}},
      {"layer1.0.bn1.running_var", {64}},
      {"layer1.0.bn1.num_batches_tracked", {}},
      {"layer1.0.conv1.weight", {64, 64, 3, 3}},
      {"layer1.0.bn2.weight", {64}},
      {"layer1.0.bn2.bias", {64}},
      {"layer1.0.bn2.running_mean", {64}},
      {"layer1.0.bn2.running_var", {64}},
      {"layer1.0.bn2.num_batches_tracked", {}},
      {"layer1.0.conv2.weight", {64, 64, 3, 3}},
      {"layer1.1.bn1.weight", {64}},
      {"layer1.1.bn1.bias", {64}},
      {"layer1.1.bn1.running_mean", {64}},
      {"layer1.1.bn1.running_var", {64}},
      {"layer1.1.bn1.num_batches_tracked", {}},
      {"layer1.1.conv1.weight", {64, 64, 3, 3}},
      {"layer1.1.bn2.weight", {64}},
      {"layer1.1.bn2.bias", {64}},
      {"layer1.1.bn2.running_mean", {64}},
      {"layer1.1.bn2.running_var", {64}},
      {"layer1.1.bn2.num_batches_tracked", {}},
      {"layer1.1.conv2.weight", {64, 64, 3, 3}},
      {"layer2.0.bn1.weight", {64}},
      {"layer2.0.bn1.bias", {64}},
      {"layer2.0.bn1.running_mean", {64}},
      {"layer2.0.bn1.running_var", {64}},
      {"layer2.0.bn1.num_batches_tracked", {}},
      {"layer2.0.conv1.weight", {128, 64, 3, 3}},
      {"layer2.0.bn2.weight", {128}},
      {"layer2.0.bn2.bias", {128}},
      {"layer2.0.bn2.running_mean", {128}},
      {"layer2.0.bn2.running_var", {128}},
      {"layer2.0.bn2.num_batches_tracked", {}},
      {"layer2.0.conv2.weight", {128, 128, 3, 3}},
      {"layer2.0.shortcut.0.weight", {128, 64, 1, 1}},
      {"layer2.1.bn1.weight", {128}},
      {"layer2.1.bn1.bias", {128}},
      {"layer2.1.bn1.running_mean", {128}},
      {"layer2.1.bn1.running_var", {128}},
      {"layer2.1.bn1.num_batches_tracked", {}},
      {"layer2.1.conv1.weight", {128, 128, 3, 3}},
      {"layer2.1.bn2.weight", {128}},
      {"layer2.1.bn2.bias", {128}},
      {"layer2.1.bn2.running_mean", {128}},
      {"layer2.1.bn2.running_var", {128}},
      {"layer2.1.bn2.num_batches_tracked", {}},
      {"layer2.1.conv2.weight", {128, 128, 3, 3}},
      {"layer3.0.bn1.weight", {128}},
      {"layer3.0.bn1.bias", {128}},
      {"layer3.0.bn1.running_mean", {128}},
      {"layer3.0.bn1.running_var", {128}},
      {"layer3.0.bn1.num_batches_tracked", {}},
      {"layer3.0.conv1.weight", {256, 128, 3, 3}},
      {"layer3.0.bn2.weight", {256}},
      {"layer3.0.bn2.bias", {256}},
      {"layer3.0.bn2.running_mean", {256}},
      {"layer3.0.bn2.running_var", {256}},
      {"layer3.0.bn2.num_batches_tracked", {}},
      {"layer3.0.conv2.weight", {256, 256, 3, 3}},
      {"layer3.0.shortcut.0.weight", {256, 128, 1, 1}},
      {"layer3.1.bn1.weight", {256}},
      {"layer3.1.bn1.bias", {256}},
      {"layer3.1.bn1.running_mean", {256}},
      {"layer3.1.bn1.running_var", {256}},
      {"layer3.1.bn1.num_batches_tracked", {}},
      {"layer3.1.conv1.weight", {256, 256, 3, 3}},
      {"layer3.1.bn2.weight", {256}},
      {"layer3.1.bn2.bias", {256}},
      {"layer3.1.bn2.running_mean", {256}},
      {"layer3.1.bn2.running_var", {256}},
      {"layer3.1.bn2.num_batches_tracked", {}},
      {"layer3.1.conv2.weight", {256, 256, 3, 3}},
      {"layer4.0.bn1.weight", {256}},
      {"layer4.0.bn1.bias", {256}},
      {"layer4.0.bn1.running_mean", {256}},
      {"layer4.0.bn1.running_var", {256}},
      {"layer4.0.bn1.num_batches_tracked", {}},
      {"layer4.0.conv1.weight", {512, 256, 3, 3}},
      {"layer4.0.bn2.weight", {512}},
      {"layer4.0.bn2.bias", {512}},
      {"layer4.0.bn2.running_mean", {512}},
      {"layer4.0.bn2.running_var", {512}},
      {"layer4.0.bn2.num_batches_tracked", {}},
      {"layer4.0.conv2.weight", {512, 512, 3, 3}},
      {"layer4.0.shortcut.0.weight", {512, 256, 1, 1}},
      {"layer4.1.bn1.weight", {512}},
      {"layer4.1.bn1.bias", {512}},
      {"layer4.1.bn1.running_mean", {512}},
      {"layer4.1.bn1.running_var", {512}},
      {"layer4.1.bn1.num_batches_tracked", {}},
      {"layer4.1.conv1.weight", {512, 512, 3, 3}},
      {"layer4.1.bn2.weight", {512}},
      {"layer4.1.bn2.bias", {512}},
      {"layer4.1.bn2.running_mean", {512}},
      {"layer4.1.bn2.running_var", {512}},
      {"layer4.1.bn2.num_batches_tracked", {}},
      {"layer4.1.conv2.weight", {512, 512, 3, 3}},
      {"linear.weight", {10, 512}},
      {"linear.bias", {10}},
};

// state_dict() of kuangliu/pytorch-cifar VGG('VGG11'): 58 entries.
const KeyShapes kVgg11 = {
      {"features.0.weight", {64, 3, 3, 3}},
      {"features.0.bias", {64}},
      {"features.1.weight", {64}},
      {"features.1.bias", {64}},
      {"features.1.running_mean", {64}},
      {"features.1.running_var", {64}},
      {"features.1.num_batches_tracked", {}},
      {"features.4.weight", {128, 64, 3, 3}},
      {"features.4.bias", {128}},
      {"features.5.weight", {128}},
      {"features.5.bias", {128}},
      {"features.5.running_mean", {128}},
      {"features.5.running_var", {128}},
      {"features.5.num_batches_tracked", {}},
      {"features.8.weight", {256, 128, 3, 3}},
      {"features.8.bias", {256}},
      {"features.9.weight", {256}},
      {"features.9.bias", {256}},
      {"features.9.running_mean", {256}},
      {"features.9.running_var", {256}},
      {"features.9.num_batches_tracked", {}},
      {"features.11.weight", {256, 256, 3, 3}},
      {"features.11.bias", {256}},
      {"features.12.weight", {256}},
      {"features.12.bias", {256}},
      {"features.12.running_mean", {256}},
      {"features.12.running_var", {256}},
      {"features.12.num_batches_tracked", {}},
      {"features.15.weight", {512, 256, 3, 3}},
      {"features.15.bias", {512}},
      {"features.16.weight", {512}},
      {"features.16.bias", {512}},
      {"features.16.running_mean", {512}},
      {"features.16.running_var", {512}},
      {"features.16.num_batches_tracked", {}},
      {"features.18.weight", {512, 512, 3, 3}},
      {"features.18.bias", {512}},
      {"features.19.weight", {512}},
      {"features.19.bias", {512}},
      {"features.19.running_mean", {512}},
      {"features.19.running_var", {512}},
      {"features.19.num_batches_tracked", {}},
      {"features.22.weight", {512, 512, 3, 3}},
      {"features.22.bias", {512}},
      {"features.23.weight", {512}},
      {"features.23.bias", {512}},
      {"features.23.running_mean", {512}},
      {"features.23.running_var", {512}},
      {"features.23.num_batches_tracked", {}},
      {"features.25.weight", {512, 512, 3, 3}},
      {"features.25.bias", {512}},
      {"features.26.weight", {512}},
      {"features.26.bias", {512}},
      {"features.26.running_mean", {512}},
      {"features.26.running_var", {512}},
      {"features.26.num_batches_tracked", {}},
      {"classifier.weight", {10, 512}},
      {"classifier.bias", {10}},
};

// The models whose full size is cheap to build and run; tests/test_zoo.cpp covers the large ones (built once,
// forward and backward passes on reduced configurations).
const std::vector<std::string> kSmallModels = {"preact-resnet18", "vgg11", "quicknet"};

// pytorch-cifar's PreActResNet.forward in eval mode, written with the ops on the state_dict tensors.
Tensor preact_reference_forward(const nn::Module& m, const Tensor& x) {
  std::map<std::string, Tensor> sd;
  for (const auto& [name, t] : m.state_dict()) sd[name] = t;
  auto bn = [&](const Tensor& in, const std::string& p) {
    return ops::batch_norm2d(in, sd[p + ".weight"], sd[p + ".bias"], sd[p + ".running_mean"], sd[p + ".running_var"],
                             {false, 0.1f, 1e-5f});
  };
  Tensor out = ops::conv2d(x, sd["conv1.weight"], Tensor(), {1, 1});
  for (int layer = 1; layer <= 4; ++layer) {
    for (int block = 0; block < 2; ++block) {
      const std::string p = "layer" + std::to_string(layer) + "." + std::to_string(block) + ".";
      const int stride = layer > 1 && block == 0 ? 2 : 1;
      Tensor o = ops::relu(bn(out, p + "bn1"));
      const std::string sc = p + "shortcut.0.weight";
      Tensor shortcut = sd.count(sc) ? ops::conv2d(o, sd[sc], Tensor(), {stride, 0}) : out;
      o = ops::conv2d(o, sd[p + "conv1.weight"], Tensor(), {stride, 1});
      o = ops::conv2d(ops::relu(bn(o, p + "bn2")), sd[p + "conv2.weight"], Tensor(), {1, 1});
      out = ops::add(o, shortcut);
    }
  }
  return ops::linear(ops::global_avg_pool(out), sd["linear.weight"], sd["linear.bias"]);
}

}  // namespace

TEST(Models, PreActResNet18StateDictMatchesPyTorch) {
  auto m = models::make_model("preact-resnet18", {3, 32, 10, 0});
  EXPECT_EQ(kPreActResNet18.size(), 102u);
  EXPECT_EQ(key_shapes(*m), kPreActResNet18);
  for (const auto& [name, t] : m->state_dict())
    EXPECT_EQ(t.dtype(), name.find("num_batches_tracked") != std::string::npos ? DType::I64 : DType::F32) << name;
}

TEST(Models, Vgg11StateDictMatchesPyTorch) {
  auto m = models::make_model("vgg11", {3, 32, 10, 0});
  EXPECT_EQ(kVgg11.size(), 58u);
  EXPECT_EQ(key_shapes(*m), kVgg11);
}

TEST(Models, SpecSetsInputChannelsAndClasses) {
  for (const std::string& name : kSmallModels) {
    auto m = models::make_model(name, {1, 28, 7, 0});
    KeyShapes ks = key_shapes(*m);
    EXPECT_EQ(ks.front().second[1], 1) << name;               // first conv sees one channel
    EXPECT_EQ(ks[ks.size() - 2].second[0], 7) << name;        // classifier weight [classes, in]
    EXPECT_EQ(ks.back().second, Shape{7}) << name;            // classifier bias
  }
}

TEST(Models, QuickNetLayout) {
  auto m = models::make_model("quicknet", {1, 28, 10, 0});
  KeyShapes want;
  int in = 1, index = 0;
  for (int out : {16, 64, 128, 256}) {  // conv (no bias), batch norm, ReLU, then a pool except at the end
    want.emplace_back("features." + std::to_string(index) + ".weight", Shape{out, in, 3, 3});
    const std::string bn = "features." + std::to_string(index + 1) + ".";
    for (const char* p : {"weight", "bias", "running_mean", "running_var"}) want.emplace_back(bn + p, Shape{out});
    want.emplace_back(bn + "num_batches_tracked", Shape{});
    in = out;
    index += 4;
  }
  want.emplace_back("classifier.weight", Shape{10, 256});
  want.emplace_back("classifier.bias", Shape{10});
  EXPECT_EQ(key_shapes(*m), want);
}

TEST(Models, InitIsDeterministicPerSeed) {
  for (const std::string& name : kSmallModels) {
    auto a = models::make_model(name, {3, 32, 10, 4}), b = models::make_model(name, {3, 32, 10, 4});
    auto c = models::make_model(name, {3, 32, 10, 5});
    auto sa = a->state_dict(), sb = b->state_dict(), sc = c->state_dict();
    bool differs = false;
    for (size_t i = 0; i < sa.size(); ++i) {
      if (sa[i].second.dtype() != DType::F32) continue;
      EXPECT_EQ(sa[i].second.to_vector<float>(), sb[i].second.to_vector<float>()) << name << " " << sa[i].first;
      differs = differs || sa[i].second.to_vector<float>() != sc[i].second.to_vector<float>();
    }
    EXPECT_TRUE(differs) << name;
  }
}

TEST(Models, UnknownNameListsTheKnownOnes) {
  test::expect_error([] { models::make_model("resnet9000", {}); },
                     {"resnet9000", "preact-resnet18", "vgg11", "quicknet"});
  test::expect_error([] { models::make_model("vgg11", {0, 32, 10, 0}); }, {"in_channels"});
}

// Needs the conv, linear, batch-norm and pooling ops.
TEST(Models, ForwardGivesOneRowOfLogitsPerImage) {
  for (const std::string& name : kSmallModels) {
    for (auto [c, hw] : {std::pair<int, int>{1, 28}, {3, 32}}) {
      auto m = models::make_model(name, {c, hw, 10, 1});
      Tensor y = (*m)(random_images(3, c, hw, 2));
      EXPECT_EQ(y.shape(), (Shape{3, 10})) << name << " " << hw;
      m->eval();
      NoGradGuard no_grad;
      EXPECT_EQ((*m)(random_images(1, c, hw, 3)).shape(), (Shape{1, 10})) << name << " " << hw;
    }
  }
}

TEST(Models, TrainingForwardCountsBatchesInEveryBatchNorm) {
  auto m = models::make_model("quicknet", {1, 28, 10, 1});
  (*m)(random_images(2, 1, 28, 4));
  (*m)(random_images(2, 1, 28, 5));
  m->eval();
  (*m)(random_images(2, 1, 28, 6));
  for (const auto& [name, t] : m->named_buffers())
    if (t.dtype() == DType::I64) {
      EXPECT_EQ(t.item<int64_t>(), 2) << name;
    }
}

TEST(Models, PreActResNet18ForwardIsPyTorchs) {
  auto m = models::make_model("preact-resnet18", {3, 16, 10, 3});
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (const auto& [name, t] : m->state_dict()) {  // non-trivial batch-norm statistics and affine terms
    if (name.find(".bn") == std::string::npos || t.dtype() != DType::F32) continue;
    const float shift = name.find("running_var") == std::string::npos ? 1.f : 0.f;  // variances stay positive
    Tensor b = t;
    for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = u(rng) - shift;
  }
  m->eval();
  NoGradGuard no_grad;
  Tensor x = random_images(2, 3, 16, 8);
  std::vector<float> got = (*m)(x).to_vector<float>(), want = preact_reference_forward(*m, x).to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
}
