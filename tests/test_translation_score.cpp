// The translation scores: the Frechet distance against closed forms (a set against itself, a shift,
// diagonal and non-commuting 2-D covariances, symmetry), the unbiased Gaussian fit, the diversity of
// known images, the target share of given logits, the flat-folder load and crop, the penultimate
// features of the zoo's models, and `mixup translation-score` on a classifier whose output the test fixes.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/translation_score.h"
#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/random.h"
#include "models/models.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

using namespace mx;
using namespace mx::analysis;
namespace fs = std::filesystem;

namespace {

using test::expect_error;
using test::TempDir;

// n samples of dimension d: standard normal draws, scaled per column and correlated through column 0.
Eigen::MatrixXd random_features(int64_t n, int64_t d, uint64_t seed) {
  random::Rng rng = random::make_rng({seed});
  Eigen::MatrixXd m(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m(i, j) = random::normal(rng) * static_cast<double>(j + 1);
  m.col(d - 1) += 0.5 * m.col(0);
  return m;
}

Gaussian gaussian(const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov) { return {mean, cov}; }

// A grey w x h PNG whose pixel (x, y) is f(x, y).
template <typename F>
void write_png(const std::string& path, int w, int h, F f) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) px[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>(f(x, y));
  std::string bytes;
  const auto append = [](void* out, void* data, int size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  ASSERT_NE(stbi_write_png_to_func(append, &bytes, w, h, 1, px.data(), w), 0) << path;
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// Images of n values, each image constant: the dataset [n, 1, 2, 2].
data::Dataset constant_images(const std::vector<uint8_t>& values) {
  const auto n = static_cast<int64_t>(values.size());
  data::Dataset d;
  d.images = Tensor::empty({n, 1, 2, 2}, DType::U8);
  for (int64_t i = 0; i < n; ++i) std::fill_n(d.images.data<uint8_t>() + 4 * i, 4, values[static_cast<size_t>(i)]);
  d.labels = Tensor::zeros({n}, DType::I32);
  d.num_classes = 1;
  return d;
}

}  // namespace

TEST(TranslationFrechet, ASetAgainstItselfIsZero) {
  const Gaussian g = fit_gaussian(random_features(300, 6, 1));
  EXPECT_NEAR(frechet_distance(g, g), 0.0, 1e-9 * g.cov.trace());
}

TEST(TranslationFrechet, AShiftedSetIsTheSquaredShift) {
  const Eigen::MatrixXd a = random_features(200, 4, 2);
  Eigen::RowVectorXd shift(4);
  shift << 1.0, -2.0, 0.5, 3.0;
  const Eigen::MatrixXd b = a.rowwise() + shift;
  EXPECT_NEAR(frechet_distance(fit_gaussian(a), fit_gaussian(b)), shift.squaredNorm(), 1e-8);
}

TEST(TranslationFrechet, DiagonalCovariancesMatchTheClosedForm) {
  Eigen::VectorXd m1(3), m2(3), v1(3), v2(3);
  m1 << 0, 1, 2;
  m2 << 1, 1, -1;
  v1 << 1, 4, 9;
  v2 << 4, 1, 0.25;
  double expected = (m1 - m2).squaredNorm();
  for (int k = 0; k < 3; ++k) expected += v1[k] + v2[k] - 2 * std::sqrt(v1[k] * v2[k]);
  EXPECT_NEAR(frechet_distance(gaussian(m1, v1.asDiagonal()), gaussian(m2, v2.asDiagonal())), expected, 1e-12);
}

TEST(TranslationFrechet, NonCommutingCovariancesMatchTheTwoByTwoClosedForm) {
  // For 2x2 SPD A, B: Tr (AB)^(1/2) = sqrt(Tr AB + 2 sqrt(det AB)), as AB has two positive eigenvalues.
  Eigen::Matrix2d a, b;
  a << 2.0, 0.8, 0.8, 1.0;
  b << 0.5, -0.3, -0.3, 3.0;
  Eigen::Vector2d m1(0.5, -1.0), m2(-0.5, 2.0);
  const Eigen::Matrix2d ab = a * b;
  const double tr_sqrt = std::sqrt(ab.trace() + 2 * std::sqrt(ab.determinant()));
  const double expected = (m1 - m2).squaredNorm() + a.trace() + b.trace() - 2 * tr_sqrt;
  EXPECT_NEAR(frechet_distance(gaussian(m1, a), gaussian(m2, b)), expected, 1e-12);
  EXPECT_GT(expected, (m1 - m2).squaredNorm()) << "the covariance term counts";
}

TEST(TranslationFrechet, IsSymmetric) {
  const Gaussian a = fit_gaussian(random_features(150, 5, 3));
  const Gaussian b = fit_gaussian(random_features(90, 5, 4) * 0.7);
  const double ab = frechet_distance(a, b), ba = frechet_distance(b, a);
  EXPECT_GT(ab, 0.1);
  EXPECT_NEAR(ab, ba, 1e-9 * ab);
}

TEST(TranslationFrechet, GaussianFitIsUnbiasedAndDimensionsMustAgree) {
  Eigen::MatrixXd s(4, 2);
  s << 0, 0, 2, 0, 0, 2, 2, 2;
  const Gaussian g = fit_gaussian(s);
  EXPECT_TRUE(g.mean.isApprox(Eigen::Vector2d(1, 1)));
  EXPECT_TRUE(g.cov.isApprox(Eigen::Matrix2d::Identity() * 4.0 / 3.0)) << g.cov;  // (n - 1), not n
  expect_error([&] { fit_gaussian(s.topRows(1)); }, {"at least 2"});
  const Gaussian three = fit_gaussian(random_features(10, 3, 5));
  expect_error([&] { frechet_distance(g, three); }, {"dimensions"});
}

TEST(TranslationDiversity, IdenticalImagesAreZeroAndKnownPairsTheirMeanDifference) {
  EXPECT_EQ(mean_pairwise_l1(constant_images({77, 77, 77, 77}), 100, 0).mean_l1, 0.0);
  const Diversity two = mean_pairwise_l1(constant_images({0, 51}), 100, 0);
  EXPECT_DOUBLE_EQ(two.mean_l1, 51.0 / 255.0);
  EXPECT_EQ(two.pairs, 1);
  EXPECT_FALSE(two.sampled);
  const Diversity three = mean_pairwise_l1(constant_images({0, 51, 255}), 3, 0);
  EXPECT_DOUBLE_EQ(three.mean_l1, (51.0 + 255.0 + 204.0) / 3.0 / 255.0);
  EXPECT_EQ(three.pairs, 3);
  expect_error([] { mean_pairwise_l1(constant_images({9}), 10, 0); }, {"--fake", "at least 2"});
}

TEST(TranslationDiversity, ManyImagesUseSeededRandomPairs) {
  std::vector<uint8_t> values;
  for (int i = 0; i < 60; ++i) values.push_back(static_cast<uint8_t>(i * 4));
  const data::Dataset d = constant_images(values);
  const Diversity all = mean_pairwise_l1(d, 100000, 0), some = mean_pairwise_l1(d, 500, 7);
  EXPECT_FALSE(all.sampled);
  EXPECT_EQ(all.pairs, 60 * 59 / 2);
  EXPECT_TRUE(some.sampled);
  EXPECT_EQ(some.pairs, 500);
  EXPECT_EQ(some.mean_l1, mean_pairwise_l1(d, 500, 7).mean_l1) << "seeded";
  EXPECT_NE(some.mean_l1, mean_pairwise_l1(d, 500, 8).mean_l1);
  // Over all pairs |i - j| averages (n + 1) / 3 steps of 4 grey levels; the sample is close to it.
  EXPECT_NEAR(all.mean_l1, 61.0 / 3.0 * 4.0 / 255.0, 1e-12);
  EXPECT_NEAR(some.mean_l1, all.mean_l1, 0.1 * all.mean_l1);
}

TEST(TranslationShare, CountsTopOneOfGivenLogits) {
  const Tensor logits = Tensor::from_vector<float>({0, 5, 1,  //
                                                    3, 2, 1,  //
                                                    0, 0, 9,  //
                                                    1, 7, 7.5f},
                                                   {4, 3});
  EXPECT_DOUBLE_EQ(target_share(logits, 0), 0.25);
  EXPECT_DOUBLE_EQ(target_share(logits, 1), 0.25);
  EXPECT_DOUBLE_EQ(target_share(logits, 2), 0.5);
  expect_error([&] { target_share(logits, 3); }, {"--target-class", "3 classes"});
}

TEST(TranslationFolder, DecodesSortsAndCentreCrops) {
  TempDir tmp;
  // 32x32 images with a 2-pixel border of 255; image k's pixel (x, y) inside the border is k + x + y.
  for (int k = 0; k < 3; ++k)
    write_png(tmp / ("f/" + std::to_string(2 - k) + ".png"), 32, 32, [k](int x, int y) {
      return (x < 2 || y < 2 || x >= 30 || y >= 30) ? 255 : 2 - k + (x - 2) + (y - 2);
    });
  std::ofstream(tmp / "f/notes.txt") << "not an image";
  const data::Dataset d = load_flat_folder(tmp / "f", 1, 28, "--fake");
  ASSERT_EQ(d.images.shape(), (Shape{3, 1, 28, 28}));
  const uint8_t* px = d.images.data<uint8_t>();
  for (int k = 0; k < 3; ++k)  // sorted by name: 0.png (value offset 0) first
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) ASSERT_EQ(px[k * 784 + y * 28 + x], k + x + y) << k << " " << x << " " << y;
}

TEST(TranslationFolder, BadFoldersAreOneLineErrorsNamingTheFlag) {
  TempDir tmp;
  expect_error([&] { load_flat_folder(tmp / "none", 1, 28, "--fake"); }, {"--fake", "none", "not found"});
  fs::create_directories(tmp / "empty");
  expect_error([&] { load_flat_folder(tmp / "empty", 1, 28, "--real"); }, {"--real", "no images"});
  write_png(tmp / "small/a.png", 20, 20, [](int, int) { return 1; });
  expect_error([&] { load_flat_folder(tmp / "small", 1, 28, "--fake"); }, {"--fake", "a.png", "smaller than the crop"});
  write_png(tmp / "mixed/a.png", 32, 32, [](int, int) { return 1; });
  write_png(tmp / "mixed/b.png", 30, 32, [](int, int) { return 1; });
  expect_error([&] { load_flat_folder(tmp / "mixed", 1, 28, "--fake"); }, {"--fake", "b.png", "one size"});
}

TEST(TranslationFeatures, PenultimateFeaturesAreWhatTheClassifierClassifies) {
  for (const std::string name : {"quicknet", "vgg11", "preact-resnet18", "densenet-bc-100"}) {
    models::ModelSpec spec = models::natural_spec(name);
    spec.image_size = 16;
    auto m = models::make_model(name, spec);
    m->eval();
    NoGradGuard no_grad;
    random::Rng rng = random::make_rng({11});
    std::vector<float> x(static_cast<size_t>(2 * spec.in_channels * 16 * 16));
    for (float& v : x) v = static_cast<float>(random::normal(rng));
    const Tensor input = Tensor::from_vector(x, {2, spec.in_channels, 16, 16});
    const Tensor f = models::penultimate_features(*m, input);
    const nn::NamedTensors sd = m->state_dict();
    const Tensor& w = sd[sd.size() - 2].second;
    const Tensor& b = sd.back().second;
    ASSERT_EQ(f.shape(), (Shape{2, w.size(1)})) << name;
    const std::vector<float> logits = (*m)(input).to_vector<float>(), again = ops::linear(f, w, b).to_vector<float>();
    ASSERT_EQ(logits.size(), again.size()) << name;
    for (size_t k = 0; k < logits.size(); ++k) EXPECT_NEAR(logits[k], again[k], 1e-4f * (1 + std::abs(logits[k]))) << name;
  }
}

namespace {

// A quicknet "run" whose classifier ignores the features and always answers class 3 (weight 0, bias
// one-hot), the tiny Fashion-MNIST it belongs to, and folders of 32x32 images: fake/ (12 varied
// images), same/ (a copy of fake/), other/ (8 brighter ones).
class TranslationCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    fs::create_directories(*dir_ / "data");
    test::write_tiny_fashion_mnist(*dir_ / "data", 16, 8);
    models::ModelSpec spec = models::natural_spec("quicknet");
    auto m = models::make_model("quicknet", spec);
    nn::NamedTensors sd = m->state_dict();
    sd[sd.size() - 2].second.zero();
    Tensor& bias = sd.back().second;
    bias.zero();
    bias.data<float>()[3] = 1;
    fs::create_directories(*dir_ / "run");
    checkpoint::save(*dir_ / "run/best.safetensors", sd,
                     {{"model", "quicknet"}, {"dataset", "fashion-mnist"}, {"norm_mean", "0.25"}, {"norm_std", "0.5"}});
    for (int k = 0; k < 12; ++k)
      for (const char* folder : {"fake", "same"})
        write_png(*dir_ / (std::string(folder) + "/" + std::to_string(k) + ".png"), 32, 32,
                  [k](int x, int y) { return (x * (k + 1) + y * 7) % 200; });
    for (int k = 0; k < 8; ++k)
      write_png(*dir_ / ("other/" + std::to_string(k) + ".png"), 32, 32, [k](int x, int y) { return 120 + (x + y * k) % 130; });
  }
  static void TearDownTestSuite() { delete dir_; }
  // The command on the shared run, --fake FAKE (default: the shared fake/) and --real DIR/real.
  static std::string score(const std::string& real, int target, const std::string& flags,
                           const std::string& fake = "") {
    return "translation-score --classifier " + (*dir_ / "run") + " --data-dir " + (*dir_ / "data") + " --fake " +
           (fake.empty() ? *dir_ / "fake" : fake) + " --real " + (*dir_ / real) + " --target-class " +
           std::to_string(target) + " --threads 1 " + flags;
  }
  static nlohmann::json json(const std::string& path) { return nlohmann::json::parse(test::read_file(path)); }
  static TempDir* dir_;
  TempDir tmp_;
};
TempDir* TranslationCli::dir_ = nullptr;

}  // namespace

TEST_F(TranslationCli, ScoresLineByLineAndAsJson) {
  test::RunResult r = test::run_mixup(score("same", 3, "--out " + (tmp_ / "s.json")), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("target share (top-1 = class 3): 1.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classifier FID (256 penultimate features; not the Inception FID)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("diversity (mean pairwise L1, all 66 pairs)"), std::string::npos) << r.out;
  const nlohmann::json same = json(tmp_ / "s.json");
  EXPECT_EQ(same["target_share"].get<double>(), 1.0);
  EXPECT_EQ(same["crop"].get<int>(), 28);
  EXPECT_EQ(same["fake_images"].get<int>(), 12);
  EXPECT_NEAR(same["classifier_fid"].get<double>(), 0.0, 1e-6) << "identical folders";
  EXPECT_GT(same["diversity_mean_l1"].get<double>(), 0.05);
  EXPECT_FALSE(test::has_temporary_files(tmp_.path()));

  r = test::run_mixup(score("other", 4, "--pairs 10 --out " + (tmp_ / "o.json")), tmp_);
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json other = json(tmp_ / "o.json");
  EXPECT_EQ(other["target_share"].get<double>(), 0.0);
  EXPECT_EQ(other["real_images"].get<int>(), 8);
  EXPECT_GT(other["classifier_fid"].get<double>(), 1e-3) << "different folders";
  EXPECT_EQ(other["diversity_pairs"].get<int>(), 10);
  EXPECT_TRUE(other["diversity_sampled"].get<bool>());
}

TEST_F(TranslationCli, BadInputIsAOneLineErrorNamingTheFlag) {
  const std::string out = " --out " + (tmp_ / "bad/s.json");
  test::expect_one_line_error(score("nowhere", 3, out), "--real", tmp_);
  fs::create_directories(tmp_ / "empty");
  test::expect_one_line_error(score("same", 3, out, tmp_ / "empty"), "--fake " + (tmp_ / "empty") + ": no images",
                              tmp_);
  test::expect_one_line_error(score("same", 10, out), "--target-class 10: out of range", tmp_);
  test::expect_one_line_error(score("same", -1, out), "--target-class", tmp_);
  test::expect_one_line_error(score("same", 3, "--crop 32" + out), "--crop 32: the classifier takes 28x28", tmp_);
  test::expect_one_line_error(score("same", 3, "--crop 40" + out), "--crop 40: the classifier takes 28x28", tmp_);
  for (int k = 0; k < 2; ++k) write_png(tmp_ / ("small/" + std::to_string(k) + ".png"), 24, 24, [k](int x, int) { return x + k; });
  test::expect_one_line_error(score("same", 3, out, tmp_ / "small"), "24x24 pixels, smaller than the crop 28x28", tmp_);
  write_png(tmp_ / "one/a.png", 32, 32, [](int x, int) { return x; });
  test::expect_one_line_error(score("same", 3, out, tmp_ / "one"), "at least 2 images", tmp_);
  test::expect_one_line_error(score("same", 3, "--pairs 0" + out), "--pairs", tmp_);
  test::expect_one_line_error("translation-score --classifier " + (tmp_ / "none") + " --fake a --real b --target-class 1",
                              "--classifier", tmp_);
  fs::create_directories(tmp_ / "emptyrun");
  test::expect_one_line_error("translation-score --classifier " + (tmp_ / "emptyrun") +
                                  " --fake a --real b --target-class 1",
                              "best.safetensors", tmp_);
  EXPECT_FALSE(fs::exists(tmp_ / "bad")) << "nothing written for rejected input";
}
