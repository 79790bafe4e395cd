// Synchronized batch norm on the CPU: the kernels' pieces against the fused kernels (bit for bit), ranks
// that share their statistics against plain batch norm of their batches joined into one, when the
// op all-reduces at all, and nn::use_sync_batch_norm. Finite differences and the CUDA twin of the op
// are cases of the harness (batch_norm2d_sync, tests/ops/op_cases.cpp); its kernels' CUDA twins are in
// tests/test_cuda_kernels.cpp.
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn.h"
#include "engine/ops.h"
#include "kernels/batchnorm.h"
#include "tests/batch_norm_steps.h"
#include "tests/fake_ranks.h"
#include "tests/ops/op_compare.h"
#include "tests/ops/op_inputs.h"

using namespace mx;

namespace {

// ---- the kernels' pieces ----

struct Values {
  std::vector<float> x, dy, gamma, beta, running_mean, running_var;
  Values(std::mt19937& rng, int64_t numel, int64_t c)
      : x(test::random_tensor({numel}, rng, -1.f, 3.f).to_vector<float>()),
        dy(test::random_tensor({numel}, rng).to_vector<float>()),
        gamma(test::random_tensor({c}, rng, 0.5f, 1.5f).to_vector<float>()),
        beta(test::random_tensor({c}, rng).to_vector<float>()),
        running_mean(test::random_tensor({c}, rng).to_vector<float>()),
        running_var(test::random_tensor({c}, rng, 0.5f, 2.f).to_vector<float>()) {}
};

// The training forward and backward, fused or in pieces, with count = n * hw, with or without the ReLU
// (whose mask in the backward is the forward's output).
struct KernelResults {
  std::vector<float> y, mean, invstd, running_mean, running_var, dx, dgamma, dbeta;
  KernelResults(const Values& v) : y(v.x.size()), mean(v.gamma.size()), invstd(v.gamma.size()),
                                   running_mean(v.running_mean), running_var(v.running_var), dx(v.x.size()),
                                   dgamma(v.gamma.size()), dbeta(v.gamma.size()) {}
};

KernelResults fused(const Values& v, int64_t n, int64_t c, int64_t hw, bool relu) {
  KernelResults r(v);
  const float* mask = relu ? r.y.data() : nullptr;
  kernels::batch_norm_train_forward<Device::CPU>(r.y.data(), r.mean.data(), r.invstd.data(), r.running_mean.data(),
                                                 r.running_var.data(), v.x.data(), v.gamma.data(), v.beta.data(), n,
                                                 c, hw, 0.1f, 1e-5f, relu);
  kernels::batch_norm_backward<Device::CPU>(r.dx.data(), r.dgamma.data(), r.dbeta.data(), v.dy.data(), v.x.data(),
                                            v.gamma.data(), r.mean.data(), r.invstd.data(), n, c, hw, true, mask);
  return r;
}

KernelResults in_pieces(const Values& v, int64_t n, int64_t c, int64_t hw, bool relu) {
  KernelResults r(v);
  const float* mask = relu ? r.y.data() : nullptr;
  const double count = static_cast<double>(n * hw);
  std::vector<double> sums(static_cast<size_t>(2 * c));
  kernels::batch_norm_forward_sums<Device::CPU>(sums.data(), v.x.data(), n, c, hw);
  kernels::batch_norm_train_forward_from_sums<Device::CPU>(
      r.y.data(), r.mean.data(), r.invstd.data(), r.running_mean.data(), r.running_var.data(), v.x.data(),
      v.gamma.data(), v.beta.data(), sums.data(), count, n, c, hw, 0.1f, 1e-5f, relu);
  kernels::batch_norm_backward_sums<Device::CPU>(sums.data(), v.dy.data(), v.x.data(), r.mean.data(), n, c, hw, mask);
  kernels::batch_norm_param_grads<Device::CPU>(r.dgamma.data(), r.dbeta.data(), sums.data(), r.invstd.data(), c);
  kernels::batch_norm_backward_dx_from_sums<Device::CPU>(r.dx.data(), v.dy.data(), v.x.data(), v.gamma.data(),
                                                         r.mean.data(), r.invstd.data(), sums.data(), count, n, c,
                                                         hw, mask);
  return r;
}

// Shapes for several threads (8x16x32x32), long planes (3x2x1x130) and blocks of channels (4x37x3x3).
TEST(BatchNormPieces, ReproduceTheFusedKernelsBitForBit) {
  const Shape shapes[] = {{3, 5, 7, 3}, {1, 3, 5, 7}, {2, 1, 1, 3}, {33, 7, 3, 3}, {8, 16, 32, 32}, {3, 2, 1, 130},
                          {4, 37, 3, 3}};
  for (const Shape& s : shapes) {
    for (bool relu : {false, true}) {
      SCOPED_TRACE(shape_str(s) + (relu ? " with the ReLU" : ""));
      std::mt19937 rng(51);
      const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
      const Values v(rng, n * c * hw, c);
      const KernelResults want = fused(v, n, c, hw, relu), got = in_pieces(v, n, c, hw, relu);
      EXPECT_EQ(got.y, want.y);
      EXPECT_EQ(got.mean, want.mean);
      EXPECT_EQ(got.invstd, want.invstd);
      EXPECT_EQ(got.running_mean, want.running_mean);
      EXPECT_EQ(got.running_var, want.running_var);
      EXPECT_EQ(got.dx, want.dx);
      EXPECT_EQ(got.dgamma, want.dgamma);
      EXPECT_EQ(got.dbeta, want.dbeta);
    }
  }
}

// ---- the op over several ranks ----

using test::Layer;
using test::step;
using test::Step;

ops::BatchNormArgs training(dist::Communicator* sync) { return {true, 0.1f, 1e-5f, sync}; }

// The batches one after another: one batch of all their images.
Tensor joined(const std::vector<Tensor>& batches) {
  std::vector<float> all;
  for (const Tensor& b : batches) {
    const std::vector<float> v = b.to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  }
  Shape shape = batches[0].shape();
  shape[0] *= static_cast<int64_t>(batches.size());
  return Tensor::from_vector(all, shape);
}

// Part k of `parts` equal parts of v.
std::vector<float> part(const std::vector<float>& v, size_t k, size_t parts) {
  const size_t size = v.size() / parts;
  return {v.begin() + static_cast<std::ptrdiff_t>(k * size), v.begin() + static_cast<std::ptrdiff_t>((k + 1) * size)};
}

std::vector<float> plus(std::vector<float> a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// Two ranks on threads, each with its own batch: each rank's output and dx are its part of plain batch
// norm's on the joined batch, both end with that batch's running statistics (unbiased over all its
// values), and their own dgamma and dbeta add up to the joined batch's.
TEST(OpsSyncBatchNorm, RanksMatchPlainBatchNormOfTheirJoinedBatch) {
  std::mt19937 rng(52);
  const Shape shape{3, 5, 7, 3};
  const Layer layer(rng, shape[1]);
  const Tensor x0 = test::random_tensor(shape, rng, -1.f, 2.f), x1 = test::random_tensor(shape, rng, 0.f, 4.f);
  const Tensor dy0 = test::random_tensor(shape, rng), dy1 = test::random_tensor(shape, rng);
  const Step whole = step(joined({x0, x1}), joined({dy0, dy1}), layer, training(nullptr));

  test::ThreadRanks::Group group(2);
  const auto rank = [&](int r, const Tensor& x, const Tensor& dy) {
    return std::async(std::launch::async, [&group, &layer, r, x, dy] {
      test::ThreadRanks comm(group, r);
      return step(x, dy, layer, training(&comm));
    });
  };
  std::future<Step> first = rank(0, x0, dy0), second = rank(1, x1, dy1);
  const Step ranks[] = {first.get(), second.get()};

  for (size_t r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    EXPECT_EQ(test::compare_close(ranks[r].y, part(whole.y, r, 2), 1e-5, "y"), "");
    EXPECT_EQ(test::compare_close(ranks[r].dx, part(whole.dx, r, 2), 1e-5, "dx"), "");
    EXPECT_EQ(test::compare_close(ranks[r].running_mean, whole.running_mean, 1e-6, "running_mean"), "");
    EXPECT_EQ(test::compare_close(ranks[r].running_var, whole.running_var, 1e-6, "running_var"), "");
  }
  EXPECT_EQ(test::compare_close(plus(ranks[0].dgamma, ranks[1].dgamma), whole.dgamma, 1e-5, "dgamma"), "");
  EXPECT_EQ(test::compare_close(plus(ranks[0].dbeta, ranks[1].dbeta), whole.dbeta, 1e-5, "dbeta"), "");
}

// Three ranks that hold the same batch are plain batch norm of three copies of it: the same output and
// dx as that batch, the running variance unbiased over three times its values, a third of dgamma.
TEST(OpsSyncBatchNorm, MirroredRanksMatchPlainBatchNormOfTheRepeatedBatch) {
  std::mt19937 rng(53);
  const Shape shape{2, 4, 3, 5};
  const Layer layer(rng, shape[1]);
  const Tensor x = test::random_tensor(shape, rng, -1.f, 2.f), dy = test::random_tensor(shape, rng);
  const Step whole = step(joined({x, x, x}), joined({dy, dy, dy}), layer, training(nullptr));
  test::MirroredRanks ranks(3);
  const Step got = step(x, dy, layer, training(&ranks));
  EXPECT_EQ(ranks.all_reduces, 2);
  EXPECT_EQ(test::compare_close(got.y, part(whole.y, 0, 3), 1e-5, "y"), "");
  EXPECT_EQ(test::compare_close(got.dx, part(whole.dx, 0, 3), 1e-5, "dx"), "");
  EXPECT_EQ(test::compare_close(got.running_mean, whole.running_mean, 1e-6, "running_mean"), "");
  EXPECT_EQ(test::compare_close(got.running_var, whole.running_var, 1e-6, "running_var"), "");
  std::vector<float> third = whole.dgamma;
  for (float& v : third) v /= 3;
  EXPECT_EQ(test::compare_close(got.dgamma, third, 1e-5, "dgamma"), "");
}

// Without ranks to share the batch (no communicator, a world of one) or in evaluation, the op runs the
// plain kernels and all-reduces nothing; without a gradient of x its backward all-reduces nothing.
TEST(OpsSyncBatchNorm, AllReducesOnlyWhatItNeeds) {
  std::mt19937 rng(54);
  const Shape shape{3, 2, 4, 3};
  const Layer layer(rng, shape[1]);
  const Tensor x = test::random_tensor(shape, rng), dy = test::random_tensor(shape, rng);
  auto expect_same = [](const Step& got, const Step& want) {
    EXPECT_EQ(got.y, want.y);
    EXPECT_EQ(got.dx, want.dx);
    EXPECT_EQ(got.dgamma, want.dgamma);
    EXPECT_EQ(got.running_var, want.running_var);
  };
  test::MirroredRanks alone(1), pair(2);
  expect_same(step(x, dy, layer, training(&alone)), step(x, dy, layer, training(nullptr)));
  EXPECT_EQ(alone.all_reduces, 0);
  expect_same(step(x, dy, layer, {false, 0.1f, 1e-5f, &pair}), step(x, dy, layer, {false, 0.1f, 1e-5f, nullptr}));
  EXPECT_EQ(pair.all_reduces, 0);
  step(x, dy, layer, training(&pair), false);
  EXPECT_EQ(pair.all_reduces, 1);
}

// ---- nn ----

TEST(NNSyncBatchNorm, UseSyncBatchNormReachesEveryBatchNormOfTheModel) {
  std::mt19937 rng(55);
  auto inner = std::make_shared<nn::Sequential>();
  inner->push_back(std::make_shared<nn::BatchNorm2d>(3));
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::BatchNorm2d>(3));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(inner);
  test::MirroredRanks ranks(2);
  auto syncs = [&] {
    std::vector<dist::Communicator*> out;
    nn::for_each_batch_norm(*model, [&](nn::BatchNorm2d& bn) { out.push_back(bn.sync); });
    return out;
  };
  EXPECT_EQ(syncs(), (std::vector<dist::Communicator*>{nullptr, nullptr}));
  nn::use_sync_batch_norm(*model, &ranks);
  EXPECT_EQ(syncs(), (std::vector<dist::Communicator*>{&ranks, &ranks}));
  (*model)(test::random_tensor({2, 3, 4, 4}, rng));
  EXPECT_EQ(ranks.all_reduces, 2);  // one forward all-reduce per layer; no gradient, so no backward
  nn::use_sync_batch_norm(*model, nullptr);
  EXPECT_EQ(syncs(), (std::vector<dist::Communicator*>{nullptr, nullptr}));
}

}  // namespace
