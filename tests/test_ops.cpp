// Op tests: forward values against naive double-precision references, gradients against finite
// differences, and the one-line errors of the front-ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/philox.h"
#include "tests/gradcheck.h"

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

// float32 results of a few dozen products against double references: 1e-5 relative plus an
// absolute floor for values near zero is ~100 float ulps, far below any indexing mistake.
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i]))) << "element " << i;
}

// Values spaced `gap` apart in random order, so no two lie within a finite-difference step.
Tensor distinct_tensor(const Shape& shape, std::mt19937& rng, float gap = 0.05f) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.f);
  std::shuffle(v.begin(), v.end(), rng);
  for (float& x : v) x = (x - static_cast<float>(v.size()) / 2) * gap;
  return Tensor::from_vector(v, shape);
}

Tensor no_tensor() { return Tensor(); }

// ---- conv2d ----

struct ConvCase {
  int64_t n, c, h, w, o, kh, kw;
  int stride, padding, groups;
  bool bias;
};

void PrintTo(const ConvCase& k, std::ostream* os) {
  *os << "x[" << k.n << "," << k.c << "," << k.h << "," << k.w << "] w[" << k.o << "," << k.c / k.groups << ","
      << k.kh << "," << k.kw << "] stride " << k.stride << " padding " << k.padding << " groups " << k.groups
      << (k.bias ? " bias" : " no bias");
}

std::vector<double> naive_conv(const Tensor& x, const Tensor& wt, const Tensor& b, const ConvCase& k) {
  std::vector<float> xv = x.to_vector<float>(), wv = wt.to_vector<float>();
  std::vector<float> bv = b.defined() ? b.to_vector<float>() : std::vector<float>(k.o, 0.f);
  const int64_t oh = (k.h + 2 * k.padding - k.kh) / k.stride + 1, ow = (k.w + 2 * k.padding - k.kw) / k.stride + 1;
  const int64_t cg = k.c / k.groups, og = k.o / k.groups;
  std::vector<double> y;
  for (int64_t i = 0; i < k.n; ++i)
    for (int64_t oc = 0; oc < k.o; ++oc)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t s = 0; s < ow; ++s) {
          double acc = bv[oc];
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < k.kh; ++a)
              for (int64_t bb = 0; bb < k.kw; ++bb) {
                int64_t yy = r * k.stride - k.padding + a, xx = s * k.stride - k.padding + bb;
                if (yy < 0 || yy >= k.h || xx < 0 || xx >= k.w) continue;
                int64_t ch = (oc / og) * cg + ci;
                acc += static_cast<double>(xv[((i * k.c + ch) * k.h + yy) * k.w + xx]) *
                       wv[((oc * cg + ci) * k.kh + a) * k.kw + bb];
              }
          y.push_back(acc);
        }
  return y;
}

class OpsConv2d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(OpsConv2d, ForwardMatchesDirectConvolution) {
  const ConvCase& k = GetParam();
  std::mt19937 rng(11);
  Tensor x = test::random_tensor({k.n, k.c, k.h, k.w}, rng);
  Tensor w = test::random_tensor({k.o, k.c / k.groups, k.kh, k.kw}, rng);
  Tensor b = k.bias ? test::random_tensor({k.o}, rng) : no_tensor();
  Tensor y = ops::conv2d(x, w, b, {k.stride, k.padding, k.groups});
  EXPECT_EQ(y.shape(), (Shape{k.n, k.o, (k.h + 2 * k.padding - k.kh) / k.stride + 1,
                              (k.w + 2 * k.padding - k.kw) / k.stride + 1}));
  expect_close(y.to_vector<float>(), naive_conv(x, w, b, k));
}

TEST_P(OpsConv2d, GradientsMatchFiniteDifferences) {
  const ConvCase& k = GetParam();
  std::mt19937 rng(12);
  std::vector<Tensor> in{test::random_tensor({k.n, k.c, k.h, k.w}, rng),
                         test::random_tensor({k.o, k.c / k.groups, k.kh, k.kw}, rng)};
  if (k.bias) in.push_back(test::random_tensor({k.o}, rng));
  ops::Conv2dArgs args{k.stride, k.padding, k.groups};
  test::expect_gradients_match(
      [&](std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], t.size() > 2 ? t[2] : no_tensor(), args); },
      in);
}

// Batch 1 and odd batches, C*H*W not a multiple of 8, non-square images and kernels, strides 1 and 2,
// padding 0, 1 and 2, groups 1, 2 and depthwise, the 1x1 fast path and a strided 1x1; "same" width
// convolutions (stride 1, ow == w) take the block-copy im2col, the others the row-by-row one.
INSTANTIATE_TEST_SUITE_P(Ops, OpsConv2d,
                         ::testing::Values(ConvCase{1, 3, 7, 5, 4, 3, 3, 1, 1, 1, true},
                                           ConvCase{3, 4, 6, 9, 6, 3, 3, 2, 0, 2, false},
                                           ConvCase{2, 5, 5, 7, 5, 3, 3, 1, 1, 5, true},
                                           ConvCase{3, 6, 4, 3, 4, 1, 1, 1, 0, 1, true},
                                           ConvCase{1, 2, 5, 5, 3, 1, 1, 2, 0, 1, false},
                                           ConvCase{2, 3, 9, 8, 2, 3, 3, 2, 1, 1, true},
                                           ConvCase{2, 3, 6, 5, 4, 3, 3, 1, 0, 1, true},
                                           ConvCase{3, 2, 6, 7, 4, 2, 3, 1, 1, 2, false},
                                           ConvCase{1, 1, 4, 6, 2, 5, 5, 1, 2, 1, true}));

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

TEST(OpsLinear, ForwardMatchesMatrixProduct) {
  std::mt19937 rng(21);
  Tensor x = test::random_tensor({3, 5}, rng), w = test::random_tensor({4, 5}, rng), b = test::random_tensor({4}, rng);
  std::vector<float> xv = x.to_vector<float>(), wv = w.to_vector<float>(), bv = b.to_vector<float>();
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int o = 0; o < 4; ++o) {
      double acc = bv[o];
      for (int j = 0; j < 5; ++j) acc += static_cast<double>(xv[i * 5 + j]) * wv[o * 5 + j];
      want.push_back(acc);
    }
  expect_close(ops::linear(x, w, b).to_vector<float>(), want);
}

TEST(OpsLinear, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(22);
  test::expect_gradients_match([](std::vector<Tensor>& t) { return ops::linear(t[0], t[1], t[2]); },
                               {test::random_tensor({3, 7}, rng), test::random_tensor({5, 7}, rng),
                                test::random_tensor({5}, rng)});
  test::expect_gradients_match([](std::vector<Tensor>& t) { return ops::linear(t[0], t[1], no_tensor()); },
                               {test::random_tensor({1, 4}, rng), test::random_tensor({2, 4}, rng)});
}

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
  expect_close(y.to_vector<float>(), want_y);
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
  expect_close(y.to_vector<float>(), want);
  EXPECT_EQ(f.running_mean.to_vector<float>(), rm);
  EXPECT_EQ(f.running_var.to_vector<float>(), rv);
}

TEST(OpsBatchNorm, TrainingGradientsMatchFiniteDifferences) {
  std::mt19937 rng(33);
  BatchNormFixture f(rng);
  test::expect_gradients_match(
      [&](std::vector<Tensor>& t) {
        return ops::batch_norm2d(t[0], t[1], t[2], f.running_mean, f.running_var, {true, 0.1f, 1e-5f});
      },
      {f.x, f.gamma, f.beta});
}

TEST(OpsBatchNorm, EvaluationGradientsMatchFiniteDifferences) {
  std::mt19937 rng(34);
  BatchNormFixture f(rng, {1, 2, 3, 3});
  test::expect_gradients_match(
      [&](std::vector<Tensor>& t) {
        return ops::batch_norm2d(t[0], t[1], t[2], f.running_mean, f.running_var, {false, 0.1f, 1e-5f});
      },
      {f.x, f.gamma, f.beta});
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

// Naive pooling of one [n, c, h, w] tensor; `is_max` picks max or average over kernel^2 cells.
std::vector<double> naive_pool(const Tensor& x, int kernel, int stride, int padding, bool is_max) {
  std::vector<float> v = x.to_vector<float>();
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1;
  std::vector<double> y;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t s = 0; s < ow; ++s) {
        double acc = is_max ? -INFINITY : 0;
        for (int a = 0; a < kernel; ++a)
          for (int b = 0; b < kernel; ++b) {
            int64_t yy = r * stride - padding + a, xx = s * stride - padding + b;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            double val = v[(p * h + yy) * w + xx];
            acc = is_max ? std::max(acc, val) : acc + val;
          }
        y.push_back(is_max ? acc : acc / (kernel * kernel));
      }
  return y;
}

TEST(OpsPool, MaxPoolForwardAndGradient) {
  std::mt19937 rng(41);
  for (auto [k, s, p] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}}) {
    Tensor x = distinct_tensor({3, 2, 7, 5}, rng);
    expect_close(ops::max_pool2d(x, k, s, p).to_vector<float>(), naive_pool(x, k, s, p, true));
    test::expect_gradients_match([=](std::vector<Tensor>& t) { return ops::max_pool2d(t[0], k, s, p); }, {x});
  }
}

TEST(OpsPool, AvgPoolCountsPaddingAndGradient) {
  std::mt19937 rng(42);
  for (auto [k, s, p] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 0}, std::tuple{3, 2, 1}, std::tuple{3, 1, 1}}) {
    Tensor x = test::random_tensor({1, 3, 6, 5}, rng);
    expect_close(ops::avg_pool2d(x, k, s, p).to_vector<float>(), naive_pool(x, k, s, p, false));
    test::expect_gradients_match([=](std::vector<Tensor>& t) { return ops::avg_pool2d(t[0], k, s, p); }, {x});
  }
}

TEST(OpsPool, GlobalAveragePool) {
  std::mt19937 rng(43);
  Tensor x = test::random_tensor({3, 2, 3, 5}, rng);
  std::vector<float> v = x.to_vector<float>();
  std::vector<double> want(6, 0.0);
  for (size_t i = 0; i < v.size(); ++i) want[i / 15] += v[i] / 15.0;
  Tensor y = ops::global_avg_pool(x);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  expect_close(y.to_vector<float>(), want);
  test::expect_gradients_match([](std::vector<Tensor>& t) { return ops::global_avg_pool(t[0]); }, {x});
}

TEST(OpsPool, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({1, 1, 4, 4});
  expect_op_error([&] { ops::max_pool2d(x, 5, 1); }, "max_pool2d");
  expect_op_error([&] { ops::max_pool2d(x, 2, 2, 2); }, "max_pool2d");
  expect_op_error([&] { ops::avg_pool2d(x, 2, 0); }, "avg_pool2d");
  expect_op_error([&] { ops::avg_pool2d(Tensor::zeros({4, 4}), 2, 2); }, "avg_pool2d");
  expect_op_error([&] { ops::global_avg_pool(Tensor::zeros({1, 1, 4, 4}, DType::U8)); }, "global_avg_pool");
}

// ---- concat_channels ----

TEST(OpsConcat, StacksChannelsAndSplitsGradients) {
  std::mt19937 rng(51);
  std::vector<Tensor> xs{test::random_tensor({3, 1, 2, 3}, rng), test::random_tensor({3, 3, 2, 3}, rng),
                         test::random_tensor({3, 2, 2, 3}, rng)};
  Tensor y = ops::concat_channels(xs);
  ASSERT_EQ(y.shape(), (Shape{3, 6, 2, 3}));
  std::vector<float> yv = y.to_vector<float>();
  int64_t first = 0;
  for (const Tensor& x : xs) {
    std::vector<float> xv = x.to_vector<float>();
    int64_t c = x.size(1);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t k = 0; k < c * 6; ++k) EXPECT_EQ(yv[(i * 6 + first) * 6 + k], xv[i * c * 6 + k]);
    first += c;
  }
  test::expect_gradients_match([](std::vector<Tensor>& t) { return ops::concat_channels(t); }, xs);
}

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
  test::expect_gradients_match([](std::vector<Tensor>& t) { return ops::dropout(t[0], 0.4f, 5, true); },
                               {test::random_tensor({2, 9}, rng)});
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

TEST(OpsMixedCrossEntropy, ForwardMatchesDoublePrecision) {
  std::mt19937 rng(71);
  MixedBatch b = mixed_batch(rng);
  std::vector<float> z = b.logits.to_vector<float>(), lam = b.lam.to_vector<float>();
  std::vector<int32_t> ya = b.ya.to_vector<int32_t>(), yb = b.yb.to_vector<int32_t>();
  double want = 0;
  for (int i = 0; i < 5; ++i) {
    double norm = 0;
    for (int j = 0; j < 4; ++j) norm += std::exp(static_cast<double>(z[i * 4 + j]));
    double ce_a = std::log(norm) - z[i * 4 + ya[i]], ce_b = std::log(norm) - z[i * 4 + yb[i]];
    want += lam[i] * ce_a + (1 - lam[i]) * ce_b;
  }
  Tensor loss = ops::mixed_cross_entropy(b.logits, b.ya, b.yb, b.lam);
  EXPECT_EQ(loss.numel(), 1);
  EXPECT_NEAR(loss.item<float>(), want / 5, 1e-6);
}

TEST(OpsMixedCrossEntropy, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(72);
  MixedBatch b = mixed_batch(rng);
  test::expect_gradients_match(
      [&](std::vector<Tensor>& t) { return ops::mixed_cross_entropy(t[0], b.ya, b.yb, b.lam); }, {b.logits});
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

}  // namespace
