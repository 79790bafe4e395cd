// Op tests that are not per-op gradient or CUDA-twin checks (those, and the forward references of
// most ops, are cases of the harness in tests/ops/op_cases.cpp): batch norm's forward and running
// statistics, the weight-only and threaded convolution backward, dropout's mask statistics, Philox
// known answers, large logits, and the one-line errors of the front-ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/philox.h"
#include "tests/ops/op_compare.h"
#include "tests/ops/op_inputs.h"

using namespace mx;

namespace {

// Runs fn, which must throw an mx::Error whose one-line message names `op`.
template <typename Fn>
void expect_op_error(Fn&& fn, const std::string& op) {
  try {
    fn();
    ADD_FAILURE() << "expected an mx::Error from " << op;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(op), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

Tensor no_tensor() { return Tensor(); }

// ---- conv2d ----

// As in PyTorch, relu passes a NaN on (a NaN weight before a ReLU must not vanish from the loss and
// the step guard), maps -0 to 0, and gives a NaN input no gradient.
TEST(OpsRelu, PassesANanOnLikePyTorch) {
  Tensor x = Tensor::from_vector<float>({std::nanf(""), -0.f, -2.f, 3.f}, {4}).set_requires_grad(true);
  Tensor y = ops::relu(x);
  const std::vector<float> v = y.to_vector<float>();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 0.f);
  EXPECT_FALSE(std::signbit(v[1]));
  EXPECT_EQ(v[2], 0.f);
  EXPECT_EQ(v[3], 3.f);
  run_backward(y, Tensor::full({4}, 1.f));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0.f, 0.f, 0.f, 1.f}));
}

TEST(OpsConv2dGrad, WeightOnlyLeavesInputWithoutGradient) {
  std::mt19937 rng(13);
  Tensor x = test::random_tensor({2, 3, 5, 5}, rng);
  Tensor w = test::random_tensor({4, 3, 3, 3}, rng);
  w.set_requires_grad(true);
  Tensor y = ops::conv2d(x, w, no_tensor(), {1, 1, 1});
  run_backward(y, Tensor::full(y.shape(), 1.f));
  EXPECT_FALSE(x.grad().defined());
  // d(sum y)/dw[o,c,a,b] = sum over images and output positions of the input pixel under tap (a,b).
  std::vector<float> xv = x.to_vector<float>(), gw = w.grad().to_vector<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 3; ++b) {
        double want = 0;
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t r = 0; r < 5; ++r)
            for (int64_t s = 0; s < 5; ++s) {
              int64_t yy = r - 1 + a, xx = s - 1 + b;
              if (yy >= 0 && yy < 5 && xx >= 0 && xx < 5) want += xv[((i * 3 + c) * 5 + yy) * 5 + xx];
            }
        for (int64_t o = 0; o < 4; ++o) EXPECT_NEAR(gw[((o * 3 + c) * 3 + a) * 3 + b], want, 1e-4);
      }
}

// Large enough for the multi-threaded path (per-thread weight-gradient partials): the batch must agree
// with the same images pushed through one at a time, which runs serially.
TEST(OpsConv2dGrad, ThreadedBatchMatchesImageByImage) {
  std::mt19937 rng(14);
  const int64_t n = 8;
  Tensor x = test::random_tensor({n, 8, 16, 16}, rng), w = test::random_tensor({16, 4, 3, 3}, rng);
  Tensor b = test::random_tensor({16}, rng), gy = test::random_tensor({n, 16, 16, 16}, rng);
  const ops::Conv2dArgs args{1, 1, 2};
  for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
  run_backward(ops::conv2d(x, w, b, args), gy);
  Tensor w1 = w.clone(), b1 = b.clone();
  w1.set_requires_grad(true);
  b1.set_requires_grad(true);
  std::vector<float> gx_want;
  for (int64_t i = 0; i < n; ++i) {
    Tensor xi = x.slice(i, i + 1).clone();
    xi.set_requires_grad(true);
    run_backward(ops::conv2d(xi, w1, b1, args), gy.slice(i, i + 1).clone());  // w1, b1 grads accumulate
    std::vector<float> g = xi.grad().to_vector<float>();
    gx_want.insert(gx_want.end(), g.begin(), g.end());
  }
  auto expect_same = [](const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * std::max(1.f, std::fabs(want[i])));
  };
  expect_same(x.grad().to_vector<float>(), gx_want);
  expect_same(w.grad().to_vector<float>(), w1.grad().to_vector<float>());
  expect_same(b.grad().to_vector<float>(), b1.grad().to_vector<float>());
}

TEST(OpsConv2dErrors, ShapeAndDtypeErrorsNameTheOp) {
  Tensor x = Tensor::zeros({2, 4, 5, 5});
  expect_op_error([&] { ops::conv2d(x, Tensor::zeros({3, 3, 3, 3}), no_tensor(), {}); }, "conv2d");
  expect_op_error([&] { ops::conv2d(x, Tensor::zeros({3, 2, 3, 3}), no_tensor(), {1, 0, 2}); }, "conv2d");
  expect_op_error([&] { ops::conv2d(x, Tensor::zeros({4, 4, 3, 3}), Tensor::zeros({3}), {}); }, "conv2d");
  expect_op_error([&] { ops::conv2d(x, Tensor::zeros({4, 4, 7, 7}), no_tensor(), {}); }, "conv2d");
  expect_op_error([&] { ops::conv2d(x, Tensor::zeros({4, 4, 3, 3}), no_tensor(), {0, 0, 1}); }, "conv2d");
  expect_op_error([&] { ops::conv2d(Tensor::zeros({4, 5, 5}), Tensor::zeros({4, 4, 3, 3}), no_tensor(), {}); },
                  "conv2d");
  expect_op_error(
      [&] { ops::conv2d(Tensor::zeros({2, 4, 5, 5}, DType::I32), Tensor::zeros({4, 4, 3, 3}), no_tensor(), {}); },
      "conv2d");
}

// ---- linear ----

TEST(OpsLinear, ShapeErrorsNameTheOp) {
  expect_op_error([] { ops::linear(Tensor::zeros({3, 5}), Tensor::zeros({4, 6}), no_tensor()); }, "linear");
  expect_op_error([] { ops::linear(Tensor::zeros({3, 5}), Tensor::zeros({4, 5}), Tensor::zeros({5})); }, "linear");
  expect_op_error([] { ops::linear(Tensor::zeros({3, 5, 1}), Tensor::zeros({4, 5}), no_tensor()); }, "linear");
}

// ---- batch_norm2d ----

struct BatchNormFixture {
  Tensor x, gamma, beta, running_mean, running_var;
  explicit BatchNormFixture(std::mt19937& rng, const Shape& shape = {3, 4, 3, 5}) {
    int64_t c = shape[1];
    x = test::random_tensor(shape, rng, -1.f, 2.f);
    gamma = test::random_tensor({c}, rng, 0.5f, 1.5f);
    beta = test::random_tensor({c}, rng);
    running_mean = test::random_tensor({c}, rng);
    running_var = test::random_tensor({c}, rng, 0.5f, 2.f);
  }
};

TEST(OpsBatchNorm, TrainingNormalisesWithBatchStatsAndUpdatesRunningStats) {
  std::mt19937 rng(31);
  BatchNormFixture f(rng);
  std::vector<float> x = f.x.to_vector<float>(), g = f.gamma.to_vector<float>(), b = f.beta.to_vector<float>();
  std::vector<float> rm = f.running_mean.to_vector<float>(), rv = f.running_var.to_vector<float>();
  ops::BatchNormArgs args{true, 0.2f, 1e-3f};
  Tensor y = ops::batch_norm2d(f.x, f.gamma, f.beta, f.running_mean, f.running_var, args);
  const int64_t n = 3, c = 4, hw = 15, m = n * hw;
  std::vector<double> want_y(x.size());
  std::vector<float> new_rm = f.running_mean.to_vector<float>(), new_rv = f.running_var.to_vector<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) mean += x[(i * c + ch) * hw + j];
    mean /= m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) var += std::pow(x[(i * c + ch) * hw + j] - mean, 2);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        size_t k = (i * c + ch) * hw + j;
        want_y[k] = (x[k] - mean) / std::sqrt(var / m + 1e-3) * g[ch] + b[ch];
      }
    EXPECT_NEAR(new_rm[ch], 0.8 * rm[ch] + 0.2 * mean, 1e-6);
    EXPECT_NEAR(new_rv[ch], 0.8 * rv[ch] + 0.2 * var / (m - 1), 1e-6);  // unbiased
  }
  EXPECT_EQ(test::compare_reference(y.to_vector<float>(), want_y, 1e-5, "y"), "");
}

TEST(OpsBatchNorm, EvaluationUsesRunningStatsAndLeavesThem) {
  std::mt19937 rng(32);
  BatchNormFixture f(rng, {2, 3, 2, 3});
  std::vector<float> x = f.x.to_vector<float>(), g = f.gamma.to_vector<float>(), b = f.beta.to_vector<float>();
  std::vector<float> rm = f.running_mean.to_vector<float>(), rv = f.running_var.to_vector<float>();
  Tensor y = ops::batch_norm2d(f.x, f.gamma, f.beta, f.running_mean, f.running_var, {false, 0.1f, 1e-5f});
  std::vector<double> want(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    size_t ch = (k / 6) % 3;
    want[k] = (x[k] - rm[ch]) / std::sqrt(rv[ch] + 1e-5) * g[ch] + b[ch];
  }
  EXPECT_EQ(test::compare_reference(y.to_vector<float>(), want, 1e-5, "y"), "");
  EXPECT_EQ(f.running_mean.to_vector<float>(), rm);
  EXPECT_EQ(f.running_var.to_vector<float>(), rv);
}

TEST(OpsBatchNorm, ErrorsNameTheOp) {
  std::mt19937 rng(35);
  BatchNormFixture f(rng);
  expect_op_error([&] { ops::batch_norm2d(f.x, Tensor::zeros({3}), f.beta, f.running_mean, f.running_var, {}); },
                  "batch_norm2d");
  expect_op_error(
      [&] { ops::batch_norm2d(f.x.view({3, 4, 15}), f.gamma, f.beta, f.running_mean, f.running_var, {}); },
      "batch_norm2d");
  Tensor single = Tensor::zeros({1, 4, 1, 1});
  expect_op_error([&] { ops::batch_norm2d(single, f.gamma, f.beta, f.running_mean, f.running_var, {}); },
                  "batch_norm2d");
}

// ---- pooling ----

TEST(OpsPool, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({1, 1, 4, 4});
  expect_op_error([&] { ops::max_pool2d(x, 5, 1); }, "max_pool2d");
  expect_op_error([&] { ops::max_pool2d(x, 2, 2, 2); }, "max_pool2d");
  expect_op_error([&] { ops::avg_pool2d(x, 2, 0); }, "avg_pool2d");
  expect_op_error([&] { ops::avg_pool2d(Tensor::zeros({4, 4}), 2, 2); }, "avg_pool2d");
  expect_op_error([&] { ops::global_avg_pool(Tensor::zeros({1, 1, 4, 4}, DType::U8)); }, "global_avg_pool");
}

// ---- concat_channels ----

TEST(OpsConcat, ErrorsNameTheOp) {
  expect_op_error([] { ops::concat_channels({}); }, "concat_channels");
  expect_op_error([] { ops::concat_channels({Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({1, 2, 3, 4})}); },
                  "concat_channels");
}

// ---- dropout ----

TEST(OpsDropout, IdentityWhenOffOrZero) {
  std::mt19937 rng(61);
  Tensor x = test::random_tensor({4, 5}, rng);
  EXPECT_EQ(ops::dropout(x, 0.f, 1, true).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(ops::dropout(x, 0.7f, 1, false).to_vector<float>(), x.to_vector<float>());
  expect_op_error([&] { ops::dropout(x, 1.5f, 1, true); }, "dropout");
}

TEST(OpsDropout, DropsAFractionPAndScalesSurvivors) {
  const float p = 0.3f;
  const int64_t n = 200001;  // odd: the last Philox block is partial
  std::mt19937 rng(62);
  Tensor x = test::random_tensor({n}, rng, 1.f, 2.f);  // never zero, so zero means dropped
  std::vector<float> xv = x.to_vector<float>(), yv = ops::dropout(x, p, 1234, true).to_vector<float>();
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (yv[i] == 0.f) ++dropped;
    else EXPECT_FLOAT_EQ(yv[i], xv[i] / (1 - p));
  }
  // Binomial standard deviation sqrt(p(1-p)/n) ~ 0.001; five of them.
  EXPECT_NEAR(static_cast<double>(dropped) / n, p, 5 * std::sqrt(p * (1 - p) / n));
}

TEST(OpsDropout, SeedFixesTheMaskAndTheGradientUsesIt) {
  const float p = 0.5f;
  std::mt19937 rng(63);
  Tensor x = test::random_tensor({3, 37}, rng, 1.f, 2.f);
  x.set_requires_grad(true);
  Tensor y = ops::dropout(x, p, 99, true);
  std::vector<float> yv = y.to_vector<float>();
  EXPECT_EQ(ops::dropout(x, p, 99, true).to_vector<float>(), yv);
  EXPECT_NE(ops::dropout(x, p, 100, true).to_vector<float>(), yv);
  run_backward(y, Tensor::full(y.shape(), 1.f));
  std::vector<float> g = x.grad().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], yv[i] == 0.f ? 0.f : 2.f) << i;
}

TEST(OpsDropout, DropAll) {
  Tensor x = Tensor::full({10}, 3.f);
  EXPECT_EQ(ops::dropout(x, 1.f, 7, true).to_vector<float>(), std::vector<float>(10, 0.f));
}

// ---- Philox ----

TEST(OpsPhilox, Random123KnownAnswers) {
  // Random123 tests/kat_vectors, "philox4x32 10" lines: counter words, key words, expected output.
  struct Kat {
    kernels::Philox4 ctr;
    uint32_t k0, k1;
    kernels::Philox4 want;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff, 0xffffffff, {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822, 0x299f31d0, {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    kernels::Philox4 got = kernels::philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got.v[i], k.want.v[i]) << "word " << i;
  }
  kernels::Philox4 a = kernels::philox(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull);
  EXPECT_EQ(a.v[0], 0xd16cfe09u);  // seed and counters map onto key and counter words low half first
}

TEST(OpsPhilox, UniformAndNormalDraws) {
  EXPECT_EQ(kernels::uniform01(0), 0.f);
  EXPECT_LT(kernels::uniform01(0xffffffffu), 1.f);
  const double two_pi = 2 * std::acos(-1.0);
  double sum = 0, sum_sq = 0, max_err = 0;
  const int pairs = 100000;
  for (int i = 0; i < pairs; ++i) {
    kernels::Philox4 r = kernels::philox(42, static_cast<uint64_t>(i));
    float z0, z1;
    kernels::normal_pair(r.v[0], r.v[1], z0, z1);
    // Box-Muller in double with libm, from the same grid points.
    double u0 = ((r.v[0] >> 8) + 1.0) / 16777216.0, u1 = (r.v[1] >> 8) / 16777216.0;
    double rad = std::sqrt(-2 * std::log(u0));
    max_err = std::max({max_err, std::fabs(z0 - rad * std::cos(two_pi * u1)),
                        std::fabs(z1 - rad * std::sin(two_pi * u1))});
    sum += z0 + z1;
    sum_sq += z0 * z0 + z1 * z1;
  }
  EXPECT_LT(max_err, 1e-5);  // a few float ulps of |z| <= 5.8
  const double m = 2.0 * pairs;
  EXPECT_NEAR(sum / m, 0.0, 0.01);         // sd of the mean 1/sqrt(2e5) = 0.0022
  EXPECT_NEAR(sum_sq / m, 1.0, 0.015);     // sd of the second moment sqrt(2/2e5) = 0.0032
}

// ---- mixed_cross_entropy ----

struct MixedBatch {
  Tensor logits, ya, yb, lam;
};

MixedBatch mixed_batch(std::mt19937& rng) {
  return {test::random_tensor({5, 4}, rng, -2.f, 2.f), Tensor::from_vector<int32_t>({0, 3, 2, 1, 2}, {5}),
          Tensor::from_vector<int32_t>({1, 3, 0, 2, 2}, {5}),
          Tensor::from_vector<float>({0.f, 0.3f, 1.f, 0.3f, 0.3f}, {5})};
}

TEST(OpsMixedCrossEntropy, LargeLogitsStayFinite) {
  Tensor logits = Tensor::from_vector<float>({1000.f, 0.f, -1000.f, 500.f}, {2, 2});
  Tensor y = Tensor::from_vector<int32_t>({1, 0}, {2});
  Tensor loss = ops::mixed_cross_entropy(logits, y, y, Tensor::full({2}, 1.f));
  EXPECT_NEAR(loss.item<float>(), (1000.f + 1500.f) / 2, 1e-3);
}

TEST(OpsMixedCrossEntropy, ErrorsNameTheOp) {
  std::mt19937 rng(73);
  MixedBatch b = mixed_batch(rng);
  Tensor bad = Tensor::from_vector<int32_t>({0, 4, 0, 0, 0}, {5});
  Tensor negative = Tensor::from_vector<int32_t>({0, 0, -1, 0, 0}, {5});
  expect_op_error([&] { ops::mixed_cross_entropy(b.logits, bad, b.yb, b.lam); }, "mixed_cross_entropy");
  expect_op_error([&] { ops::mixed_cross_entropy(b.logits, b.ya, negative, b.lam); }, "mixed_cross_entropy");
  expect_op_error([&] { ops::mixed_cross_entropy(b.logits, b.ya, b.yb, Tensor::full({4}, 1.f)); },
                  "mixed_cross_entropy");
  expect_op_error([&] { ops::mixed_cross_entropy(b.logits, b.lam, b.yb, b.lam); }, "mixed_cross_entropy");
}


// ---- GAN ops: instance_norm2d, reflection_pad2d, conv_transpose2d (MixCycleGAN) ----

TEST(OpsInstanceNorm, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({2, 3, 4, 4}), c3 = Tensor::zeros({3});
  expect_op_error([&] { ops::instance_norm2d(x, c3, no_tensor()); }, "instance_norm2d");
  expect_op_error([&] { ops::instance_norm2d(x, no_tensor(), c3); }, "instance_norm2d");
  expect_op_error([&] { ops::instance_norm2d(x, Tensor::zeros({2}), Tensor::zeros({2})); }, "instance_norm2d");
  expect_op_error([&] { ops::instance_norm2d(Tensor::zeros({2, 3, 1, 1}), c3, c3); }, "instance_norm2d");
  expect_op_error([&] { ops::instance_norm2d(Tensor::zeros({3, 4, 4}), no_tensor(), no_tensor()); },
                  "instance_norm2d");
  expect_op_error([&] { ops::instance_norm2d(x, no_tensor(), no_tensor(), -1.f); }, "instance_norm2d");
}

TEST(OpsReflectionPad, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({1, 2, 3, 5});
  expect_op_error([&] { ops::reflection_pad2d(x, 3); }, "reflection_pad2d");  // pad == H
  expect_op_error([&] { ops::reflection_pad2d(Tensor::zeros({1, 2, 5, 3}), 3); }, "reflection_pad2d");  // pad == W
  expect_op_error([&] { ops::reflection_pad2d(x, -1); }, "reflection_pad2d");
  expect_op_error([&] { ops::reflection_pad2d(Tensor::zeros({2, 3, 5}), 1); }, "reflection_pad2d");
}

TEST(OpsConvTranspose, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({1, 4, 5, 5}), w = Tensor::zeros({4, 2, 3, 3});
  const char* op = "conv_transpose2d";
  expect_op_error([&] { ops::conv_transpose2d(x, Tensor::zeros({3, 2, 3, 3}), no_tensor(), {}); }, op);
  expect_op_error([&] { ops::conv_transpose2d(x, w, no_tensor(), {2, 1, 2, 1}); }, op);  // output_padding == stride
  expect_op_error([&] { ops::conv_transpose2d(x, w, no_tensor(), {1, 0, 1, 1}); }, op);
  expect_op_error([&] { ops::conv_transpose2d(x, w, no_tensor(), {1, 0, 0, 3}); }, op);  // 4 channels, 3 groups
  expect_op_error([&] { ops::conv_transpose2d(x, w, Tensor::zeros({4}), {}); }, op);     // bias [Cout] = [2]
  expect_op_error([&] { ops::conv_transpose2d(x, w, no_tensor(), {0, 0, 0, 1}); }, op);
  expect_op_error([&] { ops::conv_transpose2d(Tensor::zeros({1, 4, 1, 1}), Tensor::zeros({4, 2, 1, 1}), no_tensor(),
                                              {1, 1, 0, 1}); },
                  op);  // output size 1 - 2 = -1
  expect_op_error([&] { ops::conv_transpose2d(Tensor::zeros({4, 5, 5}), w, no_tensor(), {}); }, op);
}

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<float> u = a.to_vector<float>(), v = b.to_vector<float>();
  double s = 0;
  for (size_t i = 0; i < u.size(); ++i) s += static_cast<double>(u[i]) * v[i];
  return s;
}

// The defining property: <conv_transpose2d(x, W), z> = <x, conv2d(z, W)> with the same weight, stride,
// padding and groups, for an output_padding that leaves rows and columns no tap reaches.
TEST(OpsConvTranspose, IsTheAdjointOfConv2d) {
  std::mt19937 rng(11);
  Tensor x = test::random_tensor({2, 4, 5, 6}, rng), w = test::random_tensor({4, 3, 3, 3}, rng);
  Tensor y = ops::conv_transpose2d(x, w, no_tensor(), {2, 1, 1, 2});
  ASSERT_EQ(y.shape(), (Shape{2, 6, 10, 12}));
  Tensor z = test::random_tensor(y.shape(), rng);
  Tensor back = ops::conv2d(z, w, no_tensor(), {2, 1, 2});
  ASSERT_EQ(back.shape(), x.shape());
  const double lhs = dot(y, z), rhs = dot(x, back);
  EXPECT_NEAR(lhs, rhs, 1e-5 * std::max(1.0, std::fabs(rhs)));
}

TEST(OpsConvTranspose, CountsItsMultiplyAdds) {
  ops::MacCounter counter;
  ops::conv_transpose2d(Tensor::zeros({2, 4, 3, 5}), Tensor::zeros({4, 3, 3, 3}), no_tensor(), {2, 1, 1, 2});
  EXPECT_EQ(counter.count(), 2 * 4 * 3 * 5 * 3 * 3 * 3);  // N * Cin * H * W * (Cout / groups) * kh * kw
}

}  // namespace
