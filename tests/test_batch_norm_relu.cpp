// Batch norm with the fused ReLU (ops::BatchNormArgs::relu, nn::BatchNorm2d::forward_relu) against the two
// ops it replaces, bit for bit: the op on every path of the CPU twin (long and short planes, blocks of
// channels, training, evaluation, synchronized; one thread or two), and whole models trained with the
// fusion on and off, whose graphs must show that it happened. Finite differences and the CUDA twin are
// cases of the harness (batch_norm2d_relu, tests/ops/op_cases.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/parameters.h"
#include "engine/threads.h"
#include "models/models.h"
#include "tests/batch_norm_steps.h"
#include "tests/cuda_fixtures.h"
#include "tests/fake_ranks.h"
#include "tests/ops/op_inputs.h"

using namespace mx;

namespace {

void expect_same_bits(const test::Step& got, const test::Step& want) {
  test::expect_bitwise_equal(got.y, want.y, "y");
  test::expect_bitwise_equal(got.dx, want.dx, "dx");
  test::expect_bitwise_equal(got.dgamma, want.dgamma, "dgamma");
  test::expect_bitwise_equal(got.dbeta, want.dbeta, "dbeta");
  test::expect_bitwise_equal(got.running_mean, want.running_mean, "running_mean");
  test::expect_bitwise_equal(got.running_var, want.running_var, "running_var");
}

// Long planes (2x1x130: 130 values), blocks of channels (37 channels of 3x3: blocks of 5, the last of 2),
// several threads (8x16x32x32), a single channel.
TEST(OpsBatchNormRelu, EqualsReluOfBatchNormBitForBit) {
  const Shape shapes[] = {{3, 4, 3, 5}, {2, 3, 1, 130}, {4, 37, 3, 3}, {8, 16, 32, 32}, {2, 1, 1, 3}};
  test::MirroredRanks pair(2);
  for (const Shape& s : shapes) {
    std::mt19937 rng(71);
    const test::Layer layer(rng, s[1]);
    const Tensor x = test::random_tensor(s, rng, -3.f, 3.f), dy = test::random_tensor(s, rng);
    for (const char* mode : {"training", "evaluation", "synchronized"}) {
      SCOPED_TRACE(shape_str(s) + " " + mode);
      ops::BatchNormArgs args{std::string(mode) != "evaluation", 0.1f, 1e-5f};
      if (std::string(mode) == "synchronized") args.sync = &pair;
      const test::Step unfused = test::step(x, dy, layer, args, true, true);
      args.relu = true;
      const test::Step fused = test::step(x, dy, layer, args);
      expect_same_bits(fused, unfused);
      size_t zeros = 0;
      for (float v : fused.y) zeros += v == 0.f;
      EXPECT_GT(zeros, 0u);  // the ReLU cut something off ...
      EXPECT_LT(zeros, fused.y.size());  // ... and let something through
    }
  }
}

// Each channel is summed by one thread in an order fixed by the shape: one thread and two give the same
// bits, for short planes in blocks of channels and for long planes, both large enough to run in parallel.
TEST(OpsBatchNormRelu, ResultsDoNotDependOnTheThreadCount) {
  const int threads = num_threads();
  for (const Shape& s : {Shape{128, 64, 3, 3}, Shape{4, 8, 48, 48}}) {
    SCOPED_TRACE(shape_str(s));
    std::mt19937 rng(74);
    const test::Layer layer(rng, s[1]);
    const Tensor x = test::random_tensor(s, rng, -3.f, 3.f), dy = test::random_tensor(s, rng);
    const ops::BatchNormArgs args{true, 0.1f, 1e-5f, nullptr, true};
    set_num_threads(1);
    const test::Step one = test::step(x, dy, layer, args);
    set_num_threads(2);
    const test::Step two = test::step(x, dy, layer, args);
    set_num_threads(threads);
    expect_same_bits(two, one);
  }
}

// A NaN goes through the fused ReLU as through ops::relu, and a NaN gradient stops at its mask.
TEST(OpsBatchNormRelu, NonFiniteValuesFollowRelu) {
  std::mt19937 rng(72);
  const Shape s{2, 3, 2, 2};
  const test::Layer layer(rng, s[1]);
  Tensor x = test::random_tensor(s, rng), dy = test::random_tensor(s, rng);
  x.data<float>()[5] = std::nanf("");
  for (int64_t k = 0; k < dy.numel(); k += 3) dy.data<float>()[k] = std::nanf("");
  const ops::BatchNormArgs eval{false, 0.1f, 1e-5f};
  const test::Step unfused = test::step(x, dy, layer, eval, true, true);
  ops::BatchNormArgs fused_args = eval;
  fused_args.relu = true;
  expect_same_bits(test::step(x, dy, layer, fused_args), unfused);
}

// How many nodes of each op the graph behind `root` holds.
std::map<std::string, int> op_counts(const Tensor& root) {
  std::map<std::string, int> counts;
  std::set<const Node*> seen;
  std::vector<const Node*> todo{root.grad_fn().get()};
  while (!todo.empty()) {
    const Node* node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node).second) continue;
    ++counts[node->name];
    for (const Tensor& input : node->inputs)
      if (input.defined()) todo.push_back(input.grad_fn().get());
  }
  return counts;
}

struct Trained {
  std::map<std::string, int> ops;  // of the first step's graph
  nn::NamedTensors state;
};

// Two SGD steps of a fresh model on fixed random images, with the fusion on or off.
Trained train_two_steps(const std::string& name, const models::ModelSpec& spec, bool fuse) {
  auto model = models::make_model(name, spec);
  nn::fuse_batch_norm_relu(*model, fuse);
  ParameterStore store(*model);
  optim::Sgd opt(store, {});
  Trained out;
  for (uint32_t step = 0; step < 2; ++step) {
    std::mt19937 rng(step);
    const Tensor x = test::random_images(4, spec.in_channels, spec.image_size, step);
    const Tensor a = test::random_labels(4, spec.num_classes, rng), b = test::random_labels(4, spec.num_classes, rng);
    store.zero_grad();
    Tensor loss = ops::mixed_cross_entropy((*model)(x), a, b, Tensor::full({4}, 0.7f));
    if (step == 0) out.ops = op_counts(loss);
    loss.backward();
    opt.step(0.05f);
  }
  out.state = model->state_dict();
  return out;
}

// Every family that fuses: a Sequential (quicknet, vgg11), pre-activation blocks, and DenseNet's layers,
// which recompute their batch norm and ReLU in the backward.
TEST(ModelsBatchNormRelu, FusedTrainingEqualsUnfusedBitForBit) {
  const std::pair<const char*, models::ModelSpec> cases[] = {{"quicknet", {1, 12, 10, 3}},
                                                             {"vgg11", {3, 8, 10, 3}},
                                                             {"preact-resnet18", {3, 8, 10, 3}},
                                                             {"densenet-bc-100", {3, 8, 10, 3}}};
  for (const auto& [name, spec] : cases) {
    SCOPED_TRACE(name);
    const Trained fused = train_two_steps(name, spec, true), unfused = train_two_steps(name, spec, false);
    EXPECT_GT(fused.ops.count("batch_norm2d_relu") ? fused.ops.at("batch_norm2d_relu") : 0, 0);
    EXPECT_EQ(unfused.ops.count("batch_norm2d_relu"), 0u);
    ASSERT_EQ(fused.state.size(), unfused.state.size());
    for (size_t i = 0; i < fused.state.size(); ++i) {
      const Tensor& a = fused.state[i].second;
      const Tensor& b = unfused.state[i].second;
      if (a.dtype() != DType::F32) continue;
      test::expect_bitwise_equal(a.to_vector<float>(), b.to_vector<float>(), fused.state[i].first.c_str());
    }
  }
}

// In a Sequential a batch norm followed by a ReLU becomes one op, and one not followed by one stays
// plain; forward_relu with the fusion off is the two ops.
TEST(NNBatchNormRelu, SequentialFusesOnlyABatchNormFollowedByAReLU) {
  std::mt19937 rng(73);
  nn::Sequential seq;
  seq.push_back(std::make_shared<nn::BatchNorm2d>(3));
  seq.push_back(std::make_shared<nn::ReLU>());
  seq.push_back(std::make_shared<nn::BatchNorm2d>(3));
  seq.push_back(std::make_shared<nn::Tanh>());
  seq.push_back(std::make_shared<nn::BatchNorm2d>(3));
  Tensor x = test::random_tensor({2, 3, 4, 4}, rng);
  x.set_requires_grad(true);
  std::map<std::string, int> ops = op_counts(seq(x));
  EXPECT_EQ(ops["batch_norm2d_relu"], 1);
  EXPECT_EQ(ops["batch_norm2d"], 2);
  EXPECT_EQ(ops.count("relu"), 0u);
  nn::fuse_batch_norm_relu(seq, false);
  ops = op_counts(seq(x));
  EXPECT_EQ(ops.count("batch_norm2d_relu"), 0u);
  EXPECT_EQ(ops["batch_norm2d"], 3);
  EXPECT_EQ(ops["relu"], 1);
}

}  // namespace
