// The CPU Winograd convolution (kernels/conv_winograd_cpu.cpp) called directly, on shapes the router
// would not send it (few channels) as well as threaded ones, against direct convolution, its input
// gradient and its weight gradient computed in double; and the shapes it cannot compute are never routed
// to it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/conv_winograd.h"

namespace {

using mx::kernels::ConvShape;

ConvShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t padding) {
  return {n, c, h, w, o, 3, 3, h + 2 * padding - 2, w + 2 * padding - 2, 1, padding, 1};
}

std::vector<float> random_floats(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Calls fn(yi, xi, wi) for every product y[yi] += x[xi] * weight[wi] of the direct convolution (flat
// indices into y, x and the weight).
template <typename Fn>
void for_each_product(const ConvShape& s, Fn&& fn) {
  for (int64_t img = 0; img < s.n; ++img)
    for (int64_t oc = 0; oc < s.o; ++oc)
      for (int64_t r = 0; r < s.oh; ++r)
        for (int64_t q = 0; q < s.ow; ++q)
          for (int64_t ch = 0; ch < s.c; ++ch)
            for (int64_t a = 0; a < 3; ++a)
              for (int64_t e = 0; e < 3; ++e) {
                const int64_t yy = r - s.padding + a, xx = q - s.padding + e;
                if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
                fn(((img * s.o + oc) * s.oh + r) * s.ow + q, ((img * s.c + ch) * s.h + yy) * s.w + xx,
                   ((oc * s.c + ch) * 3 + a) * 3 + e);
              }
}

// Every element within tol of want, relative to the larger of |want| and want's root mean square.
void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double sq = 0;
  for (double v : want) sq += v * v;
  const double rms = std::sqrt(sq / std::max<size_t>(1, want.size()));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 2e-5 * std::max(std::fabs(want[i]), rms)) << what << " element " << i;
}

struct Case {
  ConvShape s;
  bool bias;
};

void check(const Case& k, uint32_t seed) {
  const ConvShape& s = k.s;
  std::mt19937 rng(seed);
  const std::vector<float> x = random_floats(s.n * s.c * s.h * s.w, rng), w = random_floats(s.o * s.c * 9, rng);
  const std::vector<float> b = random_floats(s.o, rng), dy = random_floats(s.n * s.o * s.oh * s.ow, rng);
  std::vector<double> y_want(dy.size()), dx_want(x.size()), dw_want(w.size());
  for (size_t i = 0; i < y_want.size(); ++i) y_want[i] = k.bias ? b[(i / (s.oh * s.ow)) % s.o] : 0.0;
  for_each_product(s, [&](int64_t yi, int64_t xi, int64_t wi) {
    y_want[yi] += static_cast<double>(x[xi]) * w[wi];
    dx_want[xi] += static_cast<double>(dy[yi]) * w[wi];
    dw_want[wi] += static_cast<double>(dy[yi]) * x[xi];
  });
  std::vector<float> y(y_want.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN);
  mx::kernels::winograd_forward(y.data(), x.data(), w.data(), k.bias ? b.data() : nullptr, s);
  expect_close(y, y_want, "y");
  mx::kernels::winograd_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), s);
  expect_close(dx, dx_want, "dx");
  expect_close(dw, dw_want, "dweight");
  std::vector<float> dx_only(x.size(), NAN), dw_only(w.size(), NAN);
  mx::kernels::winograd_backward(dx_only.data(), nullptr, dy.data(), x.data(), w.data(), s);
  mx::kernels::winograd_backward(nullptr, dw_only.data(), dy.data(), x.data(), w.data(), s);
  EXPECT_EQ(dx_only, dx);
  EXPECT_EQ(dw_only, dw);
}

// Odd and even output sizes (tiles cut at the right and bottom), paddings 0, 1 and 2, one channel, a
// 1x1 output, batch 1; then shapes large enough for threads, with several images per chunk (4x4 maps)
// and one image per chunk (32-wide maps).
TEST(ConvWinograd, MatchesDirectConvolutionAndItsGradientsInDouble) {
  const std::vector<Case> cases = {
      {shape(1, 1, 5, 5, 1, 1), true},       {shape(2, 3, 7, 9, 4, 1), true},  {shape(3, 5, 6, 5, 2, 0), false},
      {shape(1, 4, 5, 6, 3, 2), true},       {shape(2, 3, 3, 3, 5, 0), false}, {shape(1, 2, 2, 9, 3, 2), false},
      {shape(16, 32, 4, 4, 48, 1), false},   {shape(6, 24, 9, 7, 40, 1), true},
      {shape(3, 16, 5, 32, 16, 1), true}};
  uint32_t seed = 1;
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << "n" << k.s.n << " c" << k.s.c << " " << k.s.h << "x" << k.s.w << " o"
                                      << k.s.o << " pad" << k.s.padding);
    check(k, seed++);
  }
}

TEST(ConvWinograd, ShapesItCannotComputeAreNeverRouted) {
  const ConvShape fits = shape(8, 128, 8, 8, 128, 1);
  ASSERT_TRUE(mx::kernels::winograd_fits(fits));
  ConvShape s = fits;
  s.stride = 2, s.oh = s.ow = 4;
  EXPECT_FALSE(mx::kernels::winograd_fits(s));
  s = fits;
  s.groups = 2;
  EXPECT_FALSE(mx::kernels::winograd_fits(s));
  s = fits;
  s.kh = s.kw = 5, s.padding = 2;
  EXPECT_FALSE(mx::kernels::winograd_fits(s));
  s = shape(8, 128, 8, 8, 128, 3);
  EXPECT_FALSE(mx::kernels::winograd_fits(s));
}

}  // namespace
