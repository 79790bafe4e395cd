// Mixing: the fused mix kernel's CPU twin against each op's definition, the mixer's plans and
// labels, and the host random draws behind them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "engine/ops.h"
#include "engine/random.h"
#include "mixup/mixer.h"
#include "tests/expect_error.h"
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
    Tensor out = ops::mix_batch(x, s);
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
  EXPECT_THROW(ops::mix_batch(x, s), Error);
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

namespace {

// A mixer's plan for a batch of n images of h x w with a fixed seed.
mixup::MixPlan plan_for(const mixup::MixerOptions& o, int64_t n, int64_t h, int64_t w, uint64_t seed = 1) {
  random::Rng r = random::make_rng({seed, 99});
  return mixup::Mixer(o).plan(n, h, w, r);
}

int64_t box_area(const MixSample& s) { return static_cast<int64_t>(s.y1 - s.y0) * (s.x1 - s.x0); }

}  // namespace

TEST(Mix, HorizontalSeamTakesRowsBelowPFromThePartner) {
  for (uint64_t seed = 1; seed < 40; ++seed) {
    mixup::MixPlan p = plan_for(options("h"), 3, 11, 7, seed);
    const MixSample& s = p.samples[0];
    ASSERT_EQ(s.op, kernels::kPaste);
    EXPECT_EQ(s.x0, 0);
    EXPECT_EQ(s.x1, 7);
    EXPECT_EQ(s.y1, 11);
    EXPECT_FLOAT_EQ(p.label_weight[0], static_cast<float>(s.y0) / 11) << "label weight is the exact row share";
    for (const auto& o : p.samples) EXPECT_EQ(o.y0, s.y0) << "one lambda per batch";
  }
}

TEST(Mix, VerticalSeamTakesColumnsRightOfPFromThePartner) {
  mixup::MixPlan p = plan_for(options("v"), 4, 5, 13);
  const MixSample& s = p.samples[2];
  EXPECT_EQ(s.y0, 0);
  EXPECT_EQ(s.y1, 5);
  EXPECT_EQ(s.x1, 13);
  EXPECT_FLOAT_EQ(p.label_weight[2], static_cast<float>(s.x0) / 13);
}

TEST(Mix, SeamPositionIsRoundedLambdaTimesExtentAndRawModeUsesLambda) {
  mixup::MixerOptions o = options("h");
  o.lam_x = "const:0.3";
  mixup::MixPlan exact = plan_for(o, 2, 10, 10);
  EXPECT_EQ(exact.samples[0].y0, 3);
  EXPECT_FLOAT_EQ(exact.label_weight[0], 0.3f);
  o.lam_x = "const:0.34";
  exact = plan_for(o, 2, 10, 10);
  EXPECT_EQ(exact.samples[0].y0, 3);
  EXPECT_FLOAT_EQ(exact.label_weight[0], 0.3f) << "exact share, not the drawn 0.34";
  o.lam_label = "raw";
  EXPECT_FLOAT_EQ(plan_for(o, 2, 10, 10).label_weight[0], 0.34f);
}

TEST(Mix, RectangleHasTheRequestedAreaInsideTheImage) {
  mixup::MixerOptions o = options("r");
  o.per = "sample";
  for (uint64_t seed = 1; seed < 30; ++seed) {
    mixup::MixPlan p = plan_for(o, 9, 17, 23, seed);
    for (size_t i = 0; i < p.samples.size(); ++i) {
      const MixSample& s = p.samples[i];
      ASSERT_TRUE(0 <= s.y0 && s.y0 <= s.y1 && s.y1 <= 17 && 0 <= s.x0 && s.x0 <= s.x1 && s.x1 <= 23);
      EXPECT_FLOAT_EQ(p.label_weight[i], 1.f - static_cast<float>(box_area(s)) / (17 * 23));
    }
  }
  o.lam_x = "const:0.75";  // a quarter of 16 x 16 = 64 pixels
  std::set<int32_t> heights;
  for (uint64_t seed = 1; seed < 40; ++seed) {
    mixup::MixPlan p = plan_for(o, 1, 16, 16, seed);
    // The width is the rounded quotient area / height, so the area is off by at most height / 2.
    const int32_t bh = p.samples[0].y1 - p.samples[0].y0;
    EXPECT_NEAR(static_cast<double>(box_area(p.samples[0])), 64.0, bh / 2.0 + 1e-9);
    heights.insert(bh);
  }
  EXPECT_GT(heights.size(), 3u) << "the aspect ratio is free";
}

TEST(Mix, StitchedPixelsEqualTheDefinition) {
  // End to end through Mixer::mix: rows [0, P) of sample i from x_i, rows [P, H) from its partner.
  std::mt19937 rng(8);
  Tensor x = test::random_tensor({5, 2, 6, 4}, rng);
  Tensor y = Tensor::from_vector<int32_t>({0, 1, 2, 3, 4}, {5});
  mixup::MixerOptions o = options("h");
  o.lam_x = "const:0.5";
  random::Rng r1 = random::make_rng({4, 4}), r2 = random::make_rng({4, 4});
  mixup::MixPlan p = mixup::Mixer(o).plan(5, 6, 4, r1);
  mixup::MixedBatch b = mixup::Mixer(o).mix(x, y, r2);
  std::vector<float> xv = x.to_vector<float>(), ov = b.images.to_vector<float>();
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t k = 0; k < 48; ++k) {
      const int64_t row = (k % 24) / 4;
      const int64_t src = row < 3 ? i : p.samples[static_cast<size_t>(i)].partner;
      ASSERT_EQ(ov[static_cast<size_t>(i * 48 + k)], xv[static_cast<size_t>(src * 48 + k)]);
    }
  for (float l : b.lam.to_vector<float>()) EXPECT_FLOAT_EQ(l, 0.5f);
}

TEST(Mix, PerSampleGranularityGivesEachSampleItsOwnModeAndRatio) {
  mixup::MixerOptions o = options("hvc");
  o.per = "sample";
  mixup::MixPlan p = plan_for(o, 300, 8, 8);
  std::map<mixup::Mode, int> counts;
  std::set<float> weights;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    ++counts[p.modes[i]];
    weights.insert(p.label_weight[i]);
  }
  EXPECT_EQ(counts.size(), 3u);
  for (const auto& [m, c] : counts) EXPECT_NEAR(c, 100, 30) << mixup::mode_letter(m);
  EXPECT_GT(weights.size(), 20u);
}

TEST(Mix, HalfGranularityStitchesTheFirstHalfWithTheFirstMode) {
  mixup::MixerOptions o = options("hv");
  o.per = "half";
  mixup::MixPlan p = plan_for(o, 7, 10, 10);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(p.modes[i], i < 3 ? mixup::Mode::H : mixup::Mode::V) << i;
  EXPECT_EQ(p.samples[0].y0, p.samples[6].x0) << "one ratio for both halves";
  o.mix = "hvc";
  EXPECT_THROW(mixup::Mixer{o}, Error);
}

TEST(Mix, WeightedModeSetsDrawInProportion) {
  mixup::ModeSet set = mixup::ModeSet::parse("none:1,hv:3");
  ASSERT_EQ(set.modes().size(), 3u);
  random::Rng r = random::make_rng({1, 1});
  std::map<mixup::Mode, int> counts;
  for (int i = 0; i < 40000; ++i) ++counts[set.draw(r)];
  EXPECT_NEAR(counts[mixup::Mode::N], 10000, 400);  // p = 1/4, sd = 87
  EXPECT_NEAR(counts[mixup::Mode::H], 15000, 450);  // p = 3/8, sd = 97
  EXPECT_NEAR(counts[mixup::Mode::V], 15000, 450);
}

TEST(Mix, DecoupledLabelRatioIsDrawnIndependently) {
  mixup::MixerOptions o = options("c");
  o.lam_x = "const:0.5";
  o.lam_l = "uniform:0.2:0.8";
  for (uint64_t seed = 1; seed < 20; ++seed) {
    mixup::MixPlan p = plan_for(o, 3, 4, 4, seed);
    EXPECT_FLOAT_EQ(p.samples[0].lam, 0.5f);
    EXPECT_GE(p.label_weight[0], 0.2f);
    EXPECT_LE(p.label_weight[0], 0.8f);
  }
}

TEST(Mix, LambdaDistributionsMatchTheirMoments) {
  // 100k draws: standard error of the mean <= 0.0016, of the variance <= 0.0004; bounds ~4 SE.
  for (const char* spec : {"uniform:0.3:0.7", "beta:0.5", "beta:2:5", "const:0.25", "uniform:0:1"}) {
    mixup::LamDist d = mixup::LamDist::parse(spec, "--lam-x");
    random::Rng r = random::make_rng({2, 2});
    double s = 0, s2 = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
      const double v = d.draw(r);
      s += v;
      s2 += v * v;
    }
    const double mean = s / n;
    EXPECT_NEAR(mean, d.mean(), 0.006) << spec;
    EXPECT_NEAR(s2 / n - mean * mean, d.variance(), 0.0016) << spec;
  }
  EXPECT_DOUBLE_EQ(mixup::LamDist::parse("uniform:0.3:0.7", "--lam-x").mean(), 0.5);
  EXPECT_NEAR(mixup::LamDist::parse("beta:2:5", "--lam-x").variance(), 10.0 / (49 * 8), 1e-12);
}

TEST(Mix, BadPolicySpecificationsAreOneLineErrorsNamingTheFlag) {
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  for (const char* spec : {"x", "h:-1", "h:abc", "none:0", "", "h:1:2"})
    EXPECT_NE(message([&] { mixup::ModeSet::parse(spec); }).find("--mix"), std::string::npos) << spec;
  for (const char* spec : {"uniform:0.7:0.3", "beta:0", "beta:-1", "const:1.5", "uniform:-0.1:0.5", "gauss:1", "const"})
    EXPECT_NE(message([&] { mixup::LamDist::parse(spec, "--lam-x"); }).find("--lam-x"), std::string::npos) << spec;
  mixup::MixerOptions o = options("c");
  o.per = "pixel";
  EXPECT_NE(message([&] { mixup::Mixer{o}; }).find("--mix-per"), std::string::npos);
  o = options("c");
  o.lam_label = "fuzzy";
  EXPECT_NE(message([&] { mixup::Mixer{o}; }).find("--lam-label"), std::string::npos);
}

// Specifications the fuzz target (tests/fuzz/fuzz_mix_spec.cpp) found to break the parsers or the draws.
TEST(Mix, DegenerateSpecificationsFoundByFuzzingAreRefused) {
  test::expect_error([] { mixup::LamDist::parse("", "--lam-l"); }, {"--lam-l", "'' is not beta:A"});
  test::expect_error([] { mixup::LamDist::parse("beta:1e-300", "--lam-x"); }, {"--lam-x", "outside [0.05, 1e+06]"});
  test::expect_error([] { mixup::LamDist::parse("beta:1:2e6", "--lam-x"); }, {"--lam-x", "2e+06", "outside"});
  test::expect_error([] { mixup::ModeSet::parse("c:1e308,h:1e308"); }, {"--mix", "more than a double holds"});
  test::expect_error([] { mixup::Mixer m(options("c", 0.01)); }, {"--alpha", "0.01 is outside [0.05, 1e+06]"});
  random::Rng rng(1);
  for (const char* spec : {"beta:0.05", "beta:0.05:0.05", "beta:1e6"}) {
    const mixup::LamDist d = mixup::LamDist::parse(spec, "--lam-x");
    for (int i = 0; i < 1000; ++i) {
      const double lam = d.draw(rng);
      ASSERT_TRUE(lam >= 0 && lam <= 1) << spec << " drew " << lam;
    }
  }
}

TEST(Mix, SizeOneBatchMixesWithItself) {
  mixup::MixPlan p = plan_for(options("hvc"), 1, 5, 5);
  EXPECT_EQ(p.samples[0].partner, 0);
}
