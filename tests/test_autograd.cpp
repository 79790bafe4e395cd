// Autograd core: topological backward, accumulation into leaves, what a node keeps of its inputs, no_grad;
// tensor views and dtype checks.
// (The gradients of relu, add and flatten are cases of the op harness, tests/ops/op_cases.cpp.)
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "engine/ops.h"

using namespace mx;

TEST(Autograd, DiamondGraphSumsBothPaths) {
  // y = relu(x) + relu(x) uses x twice through one shared intermediate: dy/dx = 2 where x > 0.
  Tensor x = Tensor::from_vector<float>({-1.f, 2.f, 3.f}, {3});
  x.set_requires_grad(true);
  Tensor r = ops::relu(x);
  Tensor y = ops::add(r, r);
  run_backward(y, Tensor::full({3}, 1.f));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0.f, 2.f, 2.f}));
}

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Tensor x = Tensor::from_vector<float>({1.f, -1.f}, {2});
  x.set_requires_grad(true);
  for (int i = 0; i < 3; ++i) run_backward(ops::relu(x), Tensor::full({2}, 1.f));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3.f, 0.f}));
}

// A node keeps an op's output only as an edge (its grad_fn, no values): once no handle holds the output,
// its memory is free before the backward, and the backward still reaches the leaf through it.
TEST(Autograd, NodesDoNotKeepTheValuesOfOpOutputs) {
  Tensor x = Tensor::full({1 << 16}, 1.5f);
  x.set_requires_grad(true);
  const size_t before = memory_stats(Device::CPU).in_use;
  Tensor b;
  {
    const Tensor a = ops::add(x, x);
    b = ops::relu(a);
  }
  EXPECT_LT(memory_stats(Device::CPU).in_use - before, 2 * b.nbytes());  // b's values, not a's as well
  run_backward(b, Tensor::full({1 << 16}, 1.f));
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(1 << 16, 2.f));
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = Tensor::from_vector<float>({1.f}, {1});
  x.set_requires_grad(true);
  NoGradGuard guard;
  Tensor y = ops::relu(x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Tensor, SliceIsAViewOfTheBatch) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  s.data<float>()[0] = 9.f;
  EXPECT_EQ(t.to_vector<float>()[2], 9.f);
  EXPECT_THROW(t.slice(2, 4), Error);
}

TEST(Tensor, WrongDtypeAccessThrows) {
  Tensor t = Tensor::zeros({2}, DType::I32);
  EXPECT_THROW(t.data<float>(), Error);
}
