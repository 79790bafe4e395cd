// Analyses: the perturbation kernels against their definitions and the normal distribution, and their op
// front-ends; Algorithm 1's variance search, the loss surface's origin and exact restoration, the
// mixed-pair test's end points and symmetry, and `mixup mixtest` / `mixup landscape` end to end on a tiny
// generated dataset.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/autograd.h"
#include "engine/interrupt.h"
#include "engine/ops.h"
#include "kernels/perturb.h"
#include "analysis/landscape.h"
#include "analysis/mixtest.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
namespace fs = std::filesystem;

namespace {

// conv(1 -> 4, 3x3, bias) -> batch norm -> ReLU -> global average -> linear(4 -> 10, bias).
std::shared_ptr<nn::Module> tiny_net(uint32_t seed) {
  std::mt19937 rng(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 4, 3, ops::Conv2dArgs{1, 1, 1}, true, rng));
  net->push_back(std::make_shared<nn::BatchNorm2d>(4));
  net->push_back(std::make_shared<nn::ReLU>());
  net->push_back(std::make_shared<nn::GlobalAvgPool>());
  net->push_back(std::make_shared<nn::Linear>(4, 10, true, rng));
  return net;
}

// n images 1x8x8 whose label k shows as a bright row k % 8 (k >= 8 also brightens the first column).
data::Dataset tiny_data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  data::Dataset d;
  d.num_classes = 10;
  d.images = Tensor::empty({n, 1, 8, 8}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I32);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t k = static_cast<int32_t>(rng() % 10);
    d.labels.data<int32_t>()[i] = k;
    for (int p = 0; p < 64; ++p) {
      const bool bright = p / 8 == k % 8 || (k >= 8 && p % 8 == 0);
      d.images.data<uint8_t>()[i * 64 + p] = static_cast<uint8_t>(bright ? 200 + rng() % 50 : rng() % 60);
    }
  }
  return d;
}

// A tiny network with non-trivial batch-norm statistics, its flat parameters, and data.
struct TinyModel {
  std::shared_ptr<nn::Module> net = tiny_net(5);
  ParameterStore store{*net};
  data::Dataset test = tiny_data(48, 7), train = tiny_data(64, 8);
  data::Normalization norm = data::compute_normalization(train);
  TinyModel() {
    NoGradGuard no_grad;
    data::Loader warm(train, norm, {32, false, false, false, 0, 0, {}});
    warm.start_epoch(0);
    data::Batch b;
    while (warm.next(b)) (*net)(b.images);
    net->eval();
  }
  double loss() {
    data::Loader l(test, norm, {16, false, false, false, 0, 0, {}});
    return train::evaluate(*net, l, Device::CPU).loss;
  }
};

analysis::LandscapeConfig surface_config(const std::string& method = "weighted-noise") {
  analysis::LandscapeConfig c;
  c.method = method;
  c.batch_size = 16;
  c.bn_batches = 2;
  return c;
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  std::vector<uint8_t> b(t.nbytes());
  std::memcpy(b.data(), t.raw(), b.size());
  return b;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

}  // namespace

TEST(AnalysisPerturb, ApplyIsExactlyTheFusedDefinition) {
  const size_t n = 100003;  // not a multiple of any vector width
  const std::vector<float> w0 = random_floats(n, 1), d1 = random_floats(n, 2), d2 = random_floats(n, 3);
  std::vector<float> w(n), in_place = w0;
  kernels::perturb_apply<Device::CPU>(w.data(), w0.data(), d1.data(), d2.data(), 0.37f, -1.25f,
                                      static_cast<int64_t>(n));
  kernels::perturb_apply<Device::CPU>(in_place.data(), in_place.data(), d1.data(), d2.data(), 0.37f, -1.25f,
                                      static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const float want = std::fmaf(-1.25f, d2[i], std::fmaf(0.37f, d1[i], w0[i]));
    ASSERT_EQ(std::memcmp(&w[i], &want, sizeof want), 0) << i;
    ASSERT_EQ(std::memcmp(&in_place[i], &want, sizeof want), 0) << i;
  }
  kernels::perturb_apply<Device::CPU>(w.data(), w0.data(), d1.data(), d2.data(), 0.f, 0.f, static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(w[i], w0[i]) << "alpha = beta = 0 gives W back";
}

TEST(AnalysisPerturb, NoiseDependsOnlyOnSeedAndElement) {
  const size_t n = 1027;
  const std::vector<float> w = random_floats(n, 4);
  std::vector<float> a(n), b(n), c(n), head(7);
  kernels::noise_direction<Device::CPU>(a.data(), w.data(), 0.f, 0.5f, 42, static_cast<int64_t>(n));
  kernels::noise_direction<Device::CPU>(b.data(), w.data(), 0.f, 0.5f, 42, static_cast<int64_t>(n));
  kernels::noise_direction<Device::CPU>(c.data(), w.data(), 0.f, 0.5f, 43, static_cast<int64_t>(n));
  kernels::noise_direction<Device::CPU>(head.data(), w.data(), 0.f, 0.5f, 42, 7);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0) << "same seed, same noise";
  EXPECT_EQ(std::memcmp(a.data(), head.data(), 7 * sizeof(float)), 0) << "element i does not depend on n";
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) same += a[i] == c[i];
  EXPECT_LT(same, 5u) << "another seed draws other noise";
  // d = T * w: doubling w doubles d exactly, and w = 0 gives 0.
  std::vector<float> w2(n), d2(n);
  for (size_t i = 0; i < n; ++i) w2[i] = 2 * w[i];
  w2[5] = 0;
  kernels::noise_direction<Device::CPU>(d2.data(), w2.data(), 0.f, 0.5f, 42, static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(d2[i], i == 5 ? 0.f : 2 * a[i]) << i;
}

TEST(AnalysisPerturb, NoiseHasTheRequestedMeanAndVariance) {
  const int64_t n = 1 << 20;
  const double mean = 0.3, std = 1.7;
  std::vector<float> ones(static_cast<size_t>(n), 1.f), t(static_cast<size_t>(n));
  kernels::noise_direction<Device::CPU>(t.data(), ones.data(), static_cast<float>(mean), static_cast<float>(std), 9, n);
  double s = 0, sq = 0;
  for (float x : t) s += x;
  const double m = s / static_cast<double>(n);
  for (float x : t) sq += (x - m) * (x - m);
  const double var = sq / static_cast<double>(n - 1);
  EXPECT_NEAR(m, mean, 5 * std / std::sqrt(double(n)));                      // 5 standard errors
  EXPECT_NEAR(var, std * std, 5 * std * std * std::sqrt(2.0 / double(n)));  // 5 standard errors
  int beyond3 = 0;
  for (float x : t) beyond3 += std::fabs(x - mean) > 3 * std;
  EXPECT_NEAR(beyond3 / double(n), 0.0027, 0.0006) << "normal tails";
}

TEST(AnalysisPerturb, FrontEndsRunTheKernelsAndCheckTheirTensors) {
  const int64_t n = 1027;
  const std::vector<float> w0 = random_floats(n, 5), d1 = random_floats(n, 6), d2 = random_floats(n, 7);
  std::vector<float> moved(n), noise(n);
  kernels::perturb_apply<Device::CPU>(moved.data(), w0.data(), d1.data(), d2.data(), 0.37f, -1.25f, n);
  kernels::noise_direction<Device::CPU>(noise.data(), w0.data(), 0.1f, 0.5f, 42, n);
  const Shape shape{n};
  Tensor w = Tensor::zeros(shape), tw0 = Tensor::from_vector(w0, shape), td1 = Tensor::from_vector(d1, shape),
         td2 = Tensor::from_vector(d2, shape), d = Tensor::zeros(shape);
  ops::perturb_apply(w, tw0, td1, td2, 0.37f, -1.25f);
  EXPECT_EQ(w.to_vector<float>(), moved);
  ops::noise_direction(d, tw0, 0.1f, 0.5f, 42);
  EXPECT_EQ(d.to_vector<float>(), noise);
  Tensor shorter = Tensor::zeros({n - 1});
  test::expect_error([&] { ops::perturb_apply(w, tw0, shorter, td2, 1.f, 1.f); }, {"perturb_apply"});
  test::expect_error([&] { ops::noise_direction(shorter, tw0, 0.f, 1.f, 1); }, {"noise_direction"});
}

TEST(AnalysisLandscape, GridAxisIsSymmetricWithAnExactZero) {
  const std::vector<double> a = analysis::grid_axis(51, 1.0);
  ASSERT_EQ(a.size(), 51u);
  EXPECT_EQ(a[25], 0.0);
  EXPECT_EQ(a.front(), -1.0);
  EXPECT_EQ(a.back(), 1.0);
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k], -a[a.size() - 1 - k]);
  EXPECT_EQ(analysis::grid_axis(2, 0.5), (std::vector<double>{-0.5, 0.5}));
}

TEST(AnalysisLandscape, VarianceSearchTerminatesAndBracketsTheTarget) {
  TinyModel s;
  const double base = s.loss();
  analysis::LandscapeConfig c = surface_config();
  c.target_loss = base + 0.3;
  analysis::LossSurface surface(*s.net, s.store, Device::CPU, s.test, s.train, s.norm, c);
  double v = 1e-4;  // from below: V grows by (1 + mom) until the loss reaches L
  analysis::SearchResult up = surface.search(0, v);
  EXPECT_TRUE(up.crossed);
  EXPECT_GT(up.steps, 0);
  EXPECT_LE(up.steps, c.max_search);
  EXPECT_LT(up.previous_loss, c.target_loss);
  EXPECT_GE(up.loss, c.target_loss);
  EXPECT_EQ(up.variance, v);
  EXPECT_NEAR(surface.loss_at(1, 0).loss, up.loss, 1e-12) << "the kept direction is the last one drawn";
  v = 400;  // from above: V shrinks by (1 - mom) until the loss falls to L
  analysis::SearchResult down = surface.search(1, v);
  EXPECT_TRUE(down.crossed);
  EXPECT_GT(down.steps, 0);
  EXPECT_GT(down.previous_loss, c.target_loss);
  EXPECT_LE(down.loss, c.target_loss);
  EXPECT_LT(v, 400 * std::pow(0.9, down.steps - 1));
  // A target below the unperturbed loss cannot be reached: the search stops at its bound.
  c.target_loss = base / 4;
  c.max_search = 12;
  analysis::LossSurface unreachable(*s.net, s.store, Device::CPU, s.test, s.train, s.norm, c);
  v = 0.2;
  analysis::SearchResult stuck = unreachable.search(0, v);
  EXPECT_FALSE(stuck.crossed);
  EXPECT_EQ(stuck.steps, 12);
}

TEST(AnalysisLandscape, OriginIsTheUnperturbedLossAndWeightsComeBackBitForBit) {
  for (const char* bn : {"keep", "reestimate"}) {
    TinyModel s;
    const double base = s.loss();
    const std::vector<uint8_t> params = bytes_of(s.store.params());
    std::vector<std::vector<uint8_t>> buffers;
    for (const auto& [name, b] : s.net->named_buffers()) buffers.push_back(bytes_of(b));
    {
      analysis::LandscapeConfig c = surface_config();
      c.bn = bn;
      analysis::LossSurface surface(*s.net, s.store, Device::CPU, s.test, s.train, s.norm, c);
      double v = 0.2;
      surface.search(0, v);
      surface.search(1, v);
      if (std::string(bn) == "keep") {
        EXPECT_EQ(surface.loss_at(0, 0).loss, base) << "loss(0, 0) is loss(W)";
      }
      EXPECT_NE(surface.loss_at(0.5, -0.25).loss, base);
      EXPECT_NE(bytes_of(s.store.params()), params) << "the weights moved in place";
    }
    EXPECT_EQ(bytes_of(s.store.params()), params) << bn;
    size_t k = 0;
    for (const auto& [name, b] : s.net->named_buffers()) EXPECT_EQ(bytes_of(b), buffers[k++]) << bn << " " << name;
    EXPECT_EQ(s.loss(), base);
  }
}

TEST(AnalysisLandscape, PerturbWeightsLeavesBiasesAndBatchNormAlone) {
  TinyModel s;
  const Tensor before = s.store.params().clone();
  analysis::LandscapeConfig c = surface_config();
  c.perturb = "weights";
  analysis::LossSurface surface(*s.net, s.store, Device::CPU, s.test, s.train, s.norm, c);
  surface.set_direction(0, 0.2, 1);
  surface.set_direction(1, 0.2, 2);
  surface.loss_at(1, 1);
  for (size_t k = 0; k < s.store.named().size(); ++k) {
    const auto& [name, p] = s.store.named()[k];
    const float* now = s.store.params().data<float>() + s.store.offsets()[k];
    const float* was = before.data<float>() + s.store.offsets()[k];
    const bool same = std::memcmp(now, was, static_cast<size_t>(p.numel()) * sizeof(float)) == 0;
    EXPECT_EQ(same, p.dim() < 2) << name;
  }
}

TEST(AnalysisLandscape, FilterNormalizedDirectionsHaveTheFiltersNorms) {
  TinyModel s;
  const Tensor w0 = s.store.params().clone();
  analysis::LossSurface surface(*s.net, s.store, Device::CPU, s.test, s.train, s.norm, surface_config("filter-normalized"));
  surface.set_direction(0, 0, 11);
  surface.loss_at(1, 0);  // W + d1
  for (size_t k = 0; k < s.store.named().size(); ++k) {
    const auto& [name, p] = s.store.named()[k];
    const int64_t rows = p.dim() >= 2 ? p.size(0) : 1, per = p.numel() / rows;
    for (int64_t r = 0; r < rows; ++r) {
      double dn = 0, wn = 0;
      for (int64_t j = 0; j < per; ++j) {
        const int64_t at = s.store.offsets()[k] + r * per + j;
        const double w = w0.data<float>()[at], d = s.store.params().data<float>()[at] - w;
        dn += d * d, wn += w * w;
        if (p.dim() < 2) {
          EXPECT_NEAR(d, w, 1e-6) << name << ": a 1-D tensor moves by itself";
        }
      }
      EXPECT_NEAR(std::sqrt(dn), std::sqrt(wn), 1e-4 * std::sqrt(wn) + 1e-7) << name << " filter " << r;
    }
  }
}

TEST(AnalysisMixTest, LambdaOneIsPlainTestAccuracyAndLambdaZeroThePartners) {
  TinyModel s;
  data::Loader l(s.test, s.norm, {16, false, false, false, 0, 0, {}});
  const train::EvalResult plain = train::evaluate(*s.net, l, Device::CPU);
  const analysis::Pairs pairs = analysis::test_pairs(s.test, 3, false, 0);
  ASSERT_EQ(pairs.first.size(), 48u);
  for (mixup::Mode m : {mixup::Mode::C, mixup::Mode::H, mixup::Mode::V, mixup::Mode::R}) {
    const std::vector<analysis::MixTestRow> rows =
        analysis::mixed_pair_test(*s.net, Device::CPU, s.test, s.norm, pairs, {m, 11, 16});
    ASSERT_EQ(rows.size(), 11u);
    EXPECT_EQ(rows.back().lam, 1.0);
    EXPECT_EQ(rows.back().share, 1.0);
    EXPECT_EQ(rows.back().acc_x1, plain.acc) << mixup::mode_letter(m);
    EXPECT_NEAR(rows.back().loss_mean, plain.loss, 1e-5) << mixup::mode_letter(m);
    // x2 runs over a permutation of the whole test set, so lambda = 0 scores the same images.
    EXPECT_EQ(rows.front().share, 0.0);
    EXPECT_EQ(rows.front().acc_x2, plain.acc) << mixup::mode_letter(m);
  }
}

TEST(AnalysisMixTest, SwappingThePairsMirrorsLambda) {
  TinyModel s;
  const analysis::Pairs pairs = analysis::test_pairs(s.test, 3, true, 0);
  const analysis::Pairs swapped{pairs.second, pairs.first};
  const auto a = analysis::mixed_pair_test(*s.net, Device::CPU, s.test, s.norm, pairs, {mixup::Mode::C, 21, 16});
  const auto b = analysis::mixed_pair_test(*s.net, Device::CPU, s.test, s.norm, swapped, {mixup::Mode::C, 21, 16});
  const double one_pair = 1.0 / static_cast<double>(pairs.first.size());
  for (size_t k = 0; k < a.size(); ++k) {
    const analysis::MixTestRow &x = a[k], &y = b[a.size() - 1 - k];
    EXPECT_NEAR(x.lam, 1 - y.lam, 1e-12);
    EXPECT_NEAR(x.acc_x1, y.acc_x2, one_pair) << k;
    EXPECT_NEAR(x.acc_x2, y.acc_x1, one_pair) << k;
    EXPECT_NEAR(x.top2_x1x2, y.top2_x2x1, one_pair) << k;
    EXPECT_NEAR(x.top2_x2x1, y.top2_x1x2, one_pair) << k;
    EXPECT_NEAR(x.loss_mean, y.loss_mean, 1e-4) << k;
    EXPECT_NEAR(x.loss_max, y.loss_max, 1e-4) << k;
  }
}

TEST(AnalysisMixTest, PairsFollowTheTestSetAndHonourDistinctAndLimit) {
  const data::Dataset d = tiny_data(100, 2);
  const analysis::Pairs all = analysis::test_pairs(d, 0, false, 0);
  for (size_t i = 0; i < all.first.size(); ++i) EXPECT_EQ(all.first[i], static_cast<int64_t>(i));
  EXPECT_EQ(analysis::test_pairs(d, 0, false, 0).second, all.second) << "seeded";
  EXPECT_NE(analysis::test_pairs(d, 1, false, 0).second, all.second);
  const analysis::Pairs distinct = analysis::test_pairs(d, 0, true, 30);
  ASSERT_EQ(distinct.first.size(), 30u);
  for (size_t i = 0; i < distinct.first.size(); ++i) {
    EXPECT_NE(d.labels.data<int32_t>()[distinct.first[i]], d.labels.data<int32_t>()[distinct.second[i]]);
    EXPECT_EQ(distinct.second[i], all.second[static_cast<size_t>(distinct.first[i])]) << "same permutation";
  }
}

TEST(AnalysisMixTest, StitchedPairsWeighTheLabelsByExactPixelShares) {
  analysis::PairMix h = analysis::pair_mix(mixup::Mode::H, 0.3, 28, 28);  // rows [8, 28) from x2
  EXPECT_EQ(h.sample.op, kernels::kPaste);
  EXPECT_EQ(h.sample.y0, 8);
  EXPECT_EQ(h.sample.y1, 28);
  EXPECT_DOUBLE_EQ(h.share, 8.0 / 28);
  analysis::PairMix v = analysis::pair_mix(mixup::Mode::V, 0.5, 28, 30);
  EXPECT_EQ(v.sample.x0, 15);
  EXPECT_DOUBLE_EQ(v.share, 0.5);
  analysis::PairMix r = analysis::pair_mix(mixup::Mode::R, 0.75, 28, 28);  // a centred 14 x 14 box
  EXPECT_EQ(r.sample.y0, 7);
  EXPECT_EQ(r.sample.y1, 21);
  EXPECT_EQ(r.sample.x0, 7);
  EXPECT_EQ(r.sample.x1, 21);
  EXPECT_DOUBLE_EQ(r.share, 0.75);
  EXPECT_DOUBLE_EQ(analysis::pair_mix(mixup::Mode::R, 0, 28, 28).share, 0.0);
  EXPECT_DOUBLE_EQ(analysis::pair_mix(mixup::Mode::R, 1, 28, 28).share, 1.0);
  analysis::PairMix c = analysis::pair_mix(mixup::Mode::C, 0.37, 28, 28);
  EXPECT_EQ(c.sample.op, kernels::kBlend);
  EXPECT_FLOAT_EQ(c.sample.lam, 0.37f);
  EXPECT_DOUBLE_EQ(c.share, 0.37);
}

namespace {

// One tiny quicknet run shared by the command-line tests: data in DIR/data, checkpoint in DIR/run.
class AnalysisCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    fs::create_directories(*dir_ / "data");
    test::write_tiny_fashion_mnist(*dir_ / "data", 64, 40);
    test::RunResult r = test::run_mixup("train --data-dir " + (*dir_ / "data") + " --out " + (*dir_ / "run") +
                                            " --epochs 1 --batch-size 16 --threads 1",
                                        *dir_);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  // `command` on the shared checkpoint and data, with flags appended. The barely trained network's
  // loss is about 2.2, so landscapes aim at L = 3.
  static std::string on_checkpoint(const std::string& command, const std::string& flags) {
    const std::string target = command == "landscape" ? " --target-loss 3 --max-search 40" : "";
    return command + " --checkpoint " + checkpoint() + " --data-dir " + (*dir_ / "data") + " --threads 1" + target +
           " " + flags;
  }
  static std::string checkpoint() { return *dir_ / "run/checkpoint.safetensors"; }
  static size_t lines(const std::string& path) {
    const std::string s = test::read_file(path);
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
  }
  static test::TempDir* dir_;
  test::TempDir tmp_;
};
test::TempDir* AnalysisCli::dir_ = nullptr;

}  // namespace

TEST_F(AnalysisCli, MixtestWritesCsvAndPng) {
  test::RunResult r = test::run_mixup(on_checkpoint("mixtest", "--steps 11 --limit 20 --out " + (tmp_ / "c")), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("20 pairs"), std::string::npos) << r.out;
  ASSERT_EQ(lines(tmp_ / "c.csv"), 12u);
  EXPECT_EQ(test::read_file(tmp_ / "c.csv").rfind("lam,share,acc_x1,acc_x2,top2_x1x2,top2_x2x1,loss_mean,loss_max\n", 0),
            0u);
  EXPECT_EQ(test::read_file(tmp_ / "c.png").substr(1, 3), "PNG");
  // Stitched pairs of different classes, into a directory given with a trailing slash.
  r = test::run_mixup(on_checkpoint("mixtest", "--mix h --distinct-classes --steps 5 --out " + (tmp_ / "out/")), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(tmp_ / "out/mixtest-h.csv"), 6u);
  EXPECT_TRUE(fs::exists(tmp_ / "out/mixtest-h.png"));
  EXPECT_FALSE(test::has_temporary_files(tmp_ / "out"));
}

TEST_F(AnalysisCli, LandscapeWritesGridHeatMapAndSummary) {
  test::RunResult r = test::run_mixup(on_checkpoint("landscape", "--grid 5 --samples 16 --out " + (tmp_ / "w")), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("share of the grid with loss below L = 3:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("s per grid point"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("direction 2: V = "), std::string::npos) << r.out;
  ASSERT_EQ(lines(tmp_ / "w.csv"), 26u);
  EXPECT_EQ(test::read_file(tmp_ / "w.csv").rfind("alpha,beta,loss,accuracy\n-1.000000,-1.000000,", 0), 0u);
  EXPECT_EQ(test::read_file(tmp_ / "w.png").substr(1, 3), "PNG");
  EXPECT_NE(test::read_file(tmp_ / "w.json").find("\"share_below_target\""), std::string::npos);
  for (const char* method : {"random-weights", "filter-normalized"}) {
    r = test::run_mixup(on_checkpoint("landscape", std::string("--method ") + method +
                                                       " --grid 3 --samples 16 --perturb weights --out " + tmp_.path()),
                        tmp_);
    ASSERT_EQ(r.status, 0) << method << ": " << r.err;
    EXPECT_EQ(lines(tmp_ / (std::string("landscape-") + method + ".csv")), 10u) << method;
  }
  r = test::run_mixup(on_checkpoint("landscape", "--slice --grid 7 --samples 16 --bn reestimate --bn-batches 2 --out " +
                                                     tmp_.path()),
                      tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(lines(tmp_ / "landscape-weighted-noise-slice.csv"), 8u);
  EXPECT_TRUE(fs::exists(tmp_ / "landscape-weighted-noise-slice.png"));
  EXPECT_FALSE(test::has_temporary_files(tmp_.path()));
}

TEST_F(AnalysisCli, DefaultOutputsSitBesideTheCheckpoint) {
  const std::string dir = tmp_ / "beside";
  fs::create_directories(dir);
  fs::copy_file(checkpoint(), dir + "/model.safetensors");
  const std::string flags = " --data-dir " + (*dir_ / "data") + " --threads 1 --checkpoint " + dir + "/model.safetensors";
  ASSERT_EQ(test::run_mixup("mixtest --steps 3 --limit 8" + flags, tmp_).status, 0);
  ASSERT_EQ(test::run_mixup("landscape --grid 2 --samples 8 --target-loss 3" + flags, tmp_).status, 0);
  for (const char* f : {"mixtest-c.csv", "mixtest-c.png", "landscape-weighted-noise.csv", "landscape-weighted-noise.png",
                        "landscape-weighted-noise.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
}

// A SIGINT during the grid: the run ends after the point in progress with interrupt::Stopped (status
// 130), its CSV holding every point so far, and the same command completes the grid of an
// uninterrupted run.
TEST_F(AnalysisCli, AStopSignalEndsTheLandscapeAfterAPointAndTheSameCommandCompletesIt) {
  analysis::LandscapeConfig c;
  c.source.checkpoint = checkpoint();
  c.source.data_dir = *dir_ / "data";
  c.threads = 1, c.target_loss = 3, c.max_search = 40, c.grid = 4, c.samples = 16;
  c.out = tmp_ / "full";
  analysis::run_landscape(c, {});
  c.out = tmp_ / "stopped";
  interrupt::request(SIGINT);
  test::expect_stopped([&] { analysis::run_landscape(c, {}); }, 130, "stopped after 1 of 16 grid points");
  interrupt::clear();
  EXPECT_EQ(lines(tmp_ / "stopped.csv"), 2u);
  const analysis::LandscapeSummary s = analysis::run_landscape(c, {});
  EXPECT_EQ(s.reused, 1);
  EXPECT_EQ(test::read_file(tmp_ / "stopped.csv"), test::read_file(tmp_ / "full.csv"));
}

TEST_F(AnalysisCli, InterruptedLandscapeResumesFromItsCsv) {
  const std::string flags = "--grid 5 --samples 16 --out " + (tmp_ / "g");
  ASSERT_EQ(test::run_mixup(on_checkpoint("landscape", flags), tmp_).status, 0);
  const std::string full = test::read_file(tmp_ / "g.csv");
  // Keep the header and the first ten rows, as an interruption would.
  size_t cut = 0;
  for (int k = 0; k < 11; ++k) cut = full.find('\n', cut) + 1;
  std::ofstream(tmp_ / "g.csv", std::ios::trunc) << full.substr(0, cut);
  test::RunResult r = test::run_mixup(on_checkpoint("landscape", flags), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resuming: 10 of 25 grid points"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("direction 1"), std::string::npos) << "the directions are read back, not searched again";
  EXPECT_EQ(test::read_file(tmp_ / "g.csv"), full) << "the resumed grid equals the uninterrupted one";
  test::expect_one_line_error(on_checkpoint("landscape", "--grid 4 --samples 16 --out " + (tmp_ / "g")),
                              "was written with --grid 5", tmp_);
}

TEST_F(AnalysisCli, BadInputIsAOneLineErrorNamingTheFlag) {
  const std::string out = " --out " + (tmp_ / "bad/x");
  test::expect_one_line_error("mixtest --checkpoint " + (tmp_ / "none.safetensors") + out, "--checkpoint", tmp_);
  test::expect_one_line_error("landscape --checkpoint " + (tmp_ / "none.safetensors") + out, "none.safetensors", tmp_);
  test::expect_one_line_error("landscape --grid 5", "--checkpoint", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--method hessian" + out), "--method", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--grid 1" + out), "--grid", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--bn maybe" + out), "--bn", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--perturb half" + out), "--perturb", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--mom 1.5" + out), "--mom", tmp_);
  test::expect_one_line_error(on_checkpoint("landscape", "--samples 0" + out), "--samples", tmp_);
  test::expect_one_line_error(on_checkpoint("mixtest", "--mix q" + out), "--mix", tmp_);
  test::expect_one_line_error(on_checkpoint("mixtest", "--steps 1" + out), "--steps", tmp_);
  test::expect_one_line_error(on_checkpoint("mixtest", "--model vgg11" + out), "checkpoint.safetensors", tmp_);
  EXPECT_FALSE(fs::exists(tmp_ / "bad")) << "nothing written for rejected settings";
  std::ofstream(tmp_ / "garbage.safetensors") << "not a checkpoint";
  test::expect_one_line_error("mixtest --checkpoint " + (tmp_ / "garbage.safetensors") + out, "garbage.safetensors",
                              tmp_);
}
