// Mixing: the fused mix kernel's CPU twin against each op's definition, the mixer's plans and
// labels, and the host random draws behind them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/random.h"
#include "mixup/mixer.h"
#include "tests/gradcheck.h"

using namespace mx;
using kernels::MixSample;

namespace {

// Reference value of output element (i, ch, y, x) straight from the definitions in mix_batch.h.
float reference(const std::vector<float>& x, const MixSample& s, int64_t i, int64_t ch, int64_t y, int64_t xx,
                int64_t c, int64_t h, int64_t w) {
  auto at = [&](int64_t n) { return x[static_cast<size_t>(((n * c + ch) * h + y) * w + xx)]; };
  if (s.op == kernels::kBlend) return s.lam * at(i) + (1 - s.lam) * at(s.partner);
  if (s.op == kernels::kPaste) return y >= s.y0 && y < s.y1 && xx >= s.x0 && xx < s.x1 ? at(s.partner) : at(i);
  return at(i);
}

mixup::MixerOptions options(const std::string& mix, double alpha = 1.0) {
  mixup::MixerOptions o;
  o.mix = mix;
  o.alpha = alpha;
  return o;
}

}  // namespace

TEST(Mix, KernelMatchesDefinitionForEveryOpOnAwkwardShapes) {
  std::mt19937 rng(11);
  for (Shape shape : {Shape{1, 1, 1, 1}, Shape{7, 3, 5, 9}, Shape{4, 2, 13, 3}}) {
    const int64_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
    Tensor x = test::random_tensor(shape, rng);
    random::Rng r = random::make_rng({5, 1});
    std::vector<int64_t> perm = random::permutation(r, n);
    std::vector<MixSample> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      MixSample& m = s[static_cast<size_t>(i)];
      m.partner = static_cast<int32_t>(perm[static_cast<size_t>(i)]);
      m.op = static_cast<int32_t>(i % 3);
      m.lam = 0.25f + 0.1f * static_cast<float>(i);
      m.y0 = static_cast<int32_t>(h / 3), m.y1 = static_cast<int32_t>(h);
      m.x0 = 0, m.x1 = static_cast<int32_t>((w + 1) / 2);
    }
    Tensor out = mixup::apply_plan(x, s);
    std::vector<float> xv = x.to_vector<float>(), ov = out.to_vector<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t xx = 0; xx < w; ++xx)
            ASSERT_EQ(ov[static_cast<size_t>(((i * c + ch) * h + y) * w + xx)],
                      reference(xv, s[static_cast<size_t>(i)], i, ch, y, xx, c, h, w))
                << "sample " << i << " op " << s[static_cast<size_t>(i)].op;
  }
}

TEST(Mix, PlanRejectsPartnerOutOfRange) {
  Tensor x = Tensor::zeros({2, 1, 2, 2});
  std::vector<MixSample> s(2);
  s[1].partner = 2;
  EXPECT_THROW(mixup::apply_plan(x, s), Error);
}

TEST(Mix, NoneLeavesImagesAndLabels) {
  mixup::Mixer m(options("none"));
  std::mt19937 rng(3);
  Tensor x = test::random_tensor({5, 1, 4, 4}, rng);
  Tensor y = Tensor::from_vector<int32_t>({0, 1, 2, 3, 4}, {5});
  random::Rng r = random::make_rng({1, 2});
  mixup::MixedBatch b = m.mix(x, y, r);
  EXPECT_EQ(b.images.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(b.ya.to_vector<int32_t>(), y.to_vector<int32_t>());
  EXPECT_EQ(b.yb.to_vector<int32_t>(), y.to_vector<int32_t>());
  for (float l : b.lam.to_vector<float>()) EXPECT_EQ(l, 1.f);
}

TEST(Mix, ChannelMixupBlendsWithPermutedPartnerAndMatchingLabels) {
  mixup::Mixer m(options("c"));
  std::mt19937 rng(4);
  const int64_t n = 9;  // odd batch
  Tensor x = test::random_tensor({n, 2, 3, 3}, rng);
  std::vector<int32_t> labels(n);
  std::iota(labels.begin(), labels.end(), 100);
  Tensor y = Tensor::from_vector(labels, {n});
  random::Rng r1 = random::make_rng({9, 0}), r2 = random::make_rng({9, 0});
  mixup::MixPlan plan = m.plan(n, 3, 3, r1);
  mixup::MixedBatch b = m.mix(x, y, r2);
  std::vector<int32_t> partners;
  for (const auto& s : plan.samples) partners.push_back(s.partner);
  std::vector<int32_t> sorted = partners;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i) << "partners form a permutation";
  const float lam = plan.samples[0].lam;
  EXPECT_GT(lam, 0.f);
  EXPECT_LT(lam, 1.f);
  std::vector<float> xv = x.to_vector<float>(), ov = b.images.to_vector<float>();
  std::vector<int32_t> yb = b.yb.to_vector<int32_t>();
  std::vector<float> lw = b.lam.to_vector<float>();
  const int64_t img = 2 * 3 * 3;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t p = partners[static_cast<size_t>(i)];
    EXPECT_EQ(yb[static_cast<size_t>(i)], 100 + p);
    EXPECT_EQ(lw[static_cast<size_t>(i)], lam);
    for (int64_t k = 0; k < img; ++k)
      EXPECT_FLOAT_EQ(ov[static_cast<size_t>(i * img + k)],
                      lam * xv[static_cast<size_t>(i * img + k)] + (1 - lam) * xv[static_cast<size_t>(p * img + k)]);
  }
}

TEST(Mix, BadSpecificationsNameTheFlag) {
  try {
    mixup::Mixer m(options("q"));
    FAIL() << "unknown mode accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--mix"), std::string::npos);
  }
  try {
    mixup::Mixer m(options("c", 0.0));
    FAIL() << "alpha 0 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--alpha"), std::string::npos);
  }
}

TEST(Random, PermutationIsAPermutationAndSeeded) {
  random::Rng a = random::make_rng({1, 7}), b = random::make_rng({1, 7}), c = random::make_rng({2, 7});
  std::vector<int64_t> pa = random::permutation(a, 257), pb = random::permutation(b, 257),
                       pc = random::permutation(c, 257);
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);
  std::sort(pa.begin(), pa.end());
  for (int64_t i = 0; i < 257; ++i) EXPECT_EQ(pa[static_cast<size_t>(i)], i);
}

TEST(Random, BetaMatchesItsMeanAndVarianceForSeveralAlphas) {
  // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)). With 200k draws the standard error of the mean
  // is below 0.0012 and of the variance below 0.0005; the bounds are about 4 standard errors.
  for (double alpha : {0.2, 1.0, 4.0}) {
    random::Rng r = random::make_rng({42, static_cast<uint64_t>(alpha * 10)});
    const int n = 200000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      double v = random::beta(r, alpha, alpha);
      ASSERT_GE(v, 0.0);
      ASSERT_LE(v, 1.0);
      s += v;
      s2 += v * v;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.005) << "alpha " << alpha;
    EXPECT_NEAR(var, 1.0 / (4 * (2 * alpha + 1)), 0.002) << "alpha " << alpha;
  }
}

TEST(Random, UniformIndexCoversTheRangeEvenly) {
  random::Rng r = random::make_rng({3, 3});
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[random::uniform_below(r, 7)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // 4 standard deviations of a binomial count
}
