// The translation scores: flat folders decoded and cropped, the classifier run once per batch for its
// logits and once for its penultimate features, and the three figures computed on the host in double.
#include "analysis/translation_score.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "engine/autograd.h"
#include "engine/files.h"
#include "engine/random.h"
#include "engine/threads.h"
#include "kernels/batch_scores.h"
#include "models/models.h"

namespace mx::analysis {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kPairStream = 31;  // the random pairs of the diversity

// The image files directly in `dir`, sorted by name.
std::vector<std::string> flat_image_files(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  MX_CHECK(fs::is_directory(dir, ec), flag, " ", dir, ": folder not found");
  std::vector<std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && data::is_image_file(e.path().string())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  MX_CHECK(!files.empty(), flag, " ", dir, ": no images (.png, .jpg or .jpeg files directly in the folder)");
  return files;
}

// The sum of |a_k - b_k| over n bytes.
int64_t abs_diff_sum(const uint8_t* a, const uint8_t* b, int64_t n) {
  int64_t s = 0;
  for (int64_t k = 0; k < n; ++k) s += std::abs(static_cast<int>(a[k]) - static_cast<int>(b[k]));
  return s;
}

// Symmetric positive semi-definite square root by eigen-decomposition, negative eigenvalues clamped.
Eigen::MatrixXd psd_sqrt(const Eigen::MatrixXd& m) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m);
  const Eigen::VectorXd root = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * root.asDiagonal() * eig.eigenvectors().transpose();
}

}  // namespace

void validate(const TranslationScoreConfig& c) {
  classifier_checkpoint(c.classifier);
  MX_CHECK(!c.fake.empty(), "--fake: a folder of translated images is required");
  MX_CHECK(!c.real.empty(), "--real: a folder of real target-domain images is required");
  MX_CHECK(c.target_class >= 0, "--target-class: must be >= 0, got ", c.target_class);
  MX_CHECK(c.crop >= 0, "--crop: must be > 0 (or 0 for the classifier's input size), got ", c.crop);
  MX_CHECK(c.pairs > 0, "--pairs: must be > 0, got ", c.pairs);
  MX_CHECK(c.batch_size > 0, "--batch-size: must be > 0, got ", c.batch_size);
  MX_CHECK(c.threads >= 0, "--threads: must be >= 0, got ", c.threads);
  check_one_of("--device", c.device, {"auto", "cpu", "cuda"}, "device");
}

std::string classifier_checkpoint(const std::string& classifier) {
  MX_CHECK(!classifier.empty(), "--classifier: a run directory or checkpoint file is required");
  std::error_code ec;
  if (fs::is_regular_file(classifier, ec)) return classifier;
  MX_CHECK(fs::is_directory(classifier, ec), "--classifier ", classifier, ": no such file or run directory");
  for (const char* name : {"best.safetensors", "checkpoint.safetensors"}) {
    const std::string path = (fs::path(classifier) / name).string();
    if (fs::is_regular_file(path, ec)) return path;
  }
  MX_FAIL("--classifier ", classifier, ": a run directory without best.safetensors or checkpoint.safetensors");
}

data::Dataset load_flat_folder(const std::string& dir, int channels, int crop, const std::string& flag) {
  MX_CHECK(channels > 0 && crop > 0, "load_flat_folder: channels ", channels, ", crop ", crop);
  const std::vector<std::string> files = flat_image_files(dir, flag);
  const auto n = static_cast<int64_t>(files.size());
  data::Dataset d;
  d.images = Tensor::empty({n, channels, crop, crop}, DType::U8);
  d.labels = Tensor::zeros({n}, DType::I32);
  d.num_classes = 1;
  const size_t sample = static_cast<size_t>(channels) * crop * crop;
  int width = 0, height = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string& path = files[static_cast<size_t>(i)];
    const data::Image img = data::decode_image(path, channels);
    if (i == 0) width = img.width, height = img.height;
    MX_CHECK(img.width == width && img.height == height, flag, " ", path, ": ", img.width, "x", img.height,
             " pixels, but ", files[0], " has ", width, "x", height, " (a folder holds images of one size)");
    MX_CHECK(width >= crop && height >= crop, flag, " ", path, ": ", width, "x", height,
             " pixels, smaller than the crop ", crop, "x", crop, " (--crop)");
    const data::Image cut = data::crop(img, data::Box{(width - crop) / 2, (height - crop) / 2, crop, crop});
    data::put_planar(cut, d.images.data<uint8_t>() + static_cast<size_t>(i) * sample);
  }
  return d;
}

Gaussian fit_gaussian(const Eigen::MatrixXd& samples) {
  MX_CHECK(samples.rows() >= 2, "fit_gaussian: needs at least 2 samples, got ", samples.rows());
  Gaussian g;
  g.mean = samples.colwise().mean().transpose();
  const Eigen::MatrixXd centred = samples.rowwise() - g.mean.transpose();
  g.cov = centred.transpose() * centred / static_cast<double>(samples.rows() - 1);
  return g;
}

double frechet_distance(const Gaussian& a, const Gaussian& b) {
  MX_CHECK(a.mean.size() == b.mean.size() && a.cov.rows() == a.mean.size() && b.cov.rows() == b.mean.size(),
           "frechet_distance: dimensions ", a.mean.size(), " and ", b.mean.size(), " differ");
  const Eigen::MatrixXd root_a = psd_sqrt(a.cov);
  const Eigen::MatrixXd inner = root_a * b.cov * root_a;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (inner + inner.transpose()), Eigen::EigenvaluesOnly);
  const double tr_sqrt = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2 * tr_sqrt;
}

double target_share(const Tensor& logits, int k) {
  MX_CHECK(logits.dim() == 2 && logits.size(0) > 0, "target_share: logits must be [N, K] with N > 0");
  const int64_t n = logits.size(0), classes = logits.size(1);
  MX_CHECK(k >= 0 && k < classes, "--target-class ", k, ": out of range, the classifier has ", classes, " classes");
  const std::vector<float> v = logits.to(Device::CPU).to_vector<float>();
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    int32_t top1 = 0, top2 = 0;
    kernels::top2_of_row(v.data() + i * classes, classes, top1, top2);
    hits += top1 == k;
  }
  return static_cast<double>(hits) / static_cast<double>(n);
}

Diversity mean_pairwise_l1(const data::Dataset& images, int64_t max_pairs, uint64_t seed) {
  const int64_t n = images.size();
  MX_CHECK(n >= 2, "--fake: diversity needs at least 2 images, got ", n);
  MX_CHECK(max_pairs > 0, "--pairs: must be > 0, got ", max_pairs);
  const int64_t sample = images.images.numel() / n;
  const uint8_t* px = images.images.data<uint8_t>();
  const auto at = [&](int64_t i) { return px + i * sample; };
  Diversity d;
  const int64_t all = n * (n - 1) / 2;
  int64_t total = 0;
  if (all <= max_pairs) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) total += abs_diff_sum(at(i), at(j), sample);
    d.pairs = all;
  } else {
    random::Rng rng = random::make_rng({seed, kPairStream});
    for (int64_t p = 0; p < max_pairs; ++p) {
      const auto i = static_cast<int64_t>(random::uniform_below(rng, static_cast<uint64_t>(n)));
      auto j = static_cast<int64_t>(random::uniform_below(rng, static_cast<uint64_t>(n - 1)));
      j += j >= i;  // uniform over the others
      total += abs_diff_sum(at(i), at(j), sample);
    }
    d.pairs = max_pairs;
    d.sampled = true;
  }
  d.mean_l1 = static_cast<double>(total) / 255.0 / static_cast<double>(sample) / static_cast<double>(d.pairs);
  return d;
}

ClassifierOutputs classify(TrainedModel& model, const data::Dataset& images, int batch_size) {
  data::Loader loader(images, model.norm, {batch_size, false, false, false, 0, 0, {}});
  NoGradGuard no_grad;
  model.net->eval();
  std::vector<float> logits, features;
  int64_t classes = 0, dim = 0;
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b)) {
    const Tensor x = b.images.to(model.device);
    const Tensor l = (*model.net)(x).to(Device::CPU), f = models::penultimate_features(*model.net, x).to(Device::CPU);
    classes = l.size(1), dim = f.size(1);
    const std::vector<float> lv = l.to_vector<float>(), fv = f.to_vector<float>();
    logits.insert(logits.end(), lv.begin(), lv.end());
    features.insert(features.end(), fv.begin(), fv.end());
  }
  const int64_t n = images.size();
  ClassifierOutputs out;
  out.logits = Tensor::from_vector(logits, {n, classes});
  out.features = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                     features.data(), n, dim)
                     .cast<double>();
  return out;
}

TranslationScores translation_scores(const TranslationScoreConfig& c, const ProgressCallbacks& cb) {
  validate(c);
  set_num_threads(c.threads);
  TranslationScores s;
  s.checkpoint = classifier_checkpoint(c.classifier);
  TrainedModel t = load_trained({s.checkpoint, "", "", c.data_dir, c.device});
  if (!t.notice.empty() && cb.notice) cb.notice(t.notice);
  s.model = t.model, s.dataset = t.dataset;
  const int size = t.data.train.height(), classes = t.data.train.num_classes;
  MX_CHECK(c.target_class < classes, "--target-class ", c.target_class, ": out of range, the classifier has ",
           classes, " classes (0 to ", classes - 1, ")");
  s.crop = c.crop > 0 ? c.crop : size;
  MX_CHECK(s.crop == size, "--crop ", s.crop, ": the classifier takes ", size, "x", size, " images (trained on ",
           t.dataset, ")");
  s.target_class = c.target_class;
  const int channels = t.data.train.channels();
  const data::Dataset fake = load_flat_folder(c.fake, channels, s.crop, "--fake");
  const data::Dataset real = load_flat_folder(c.real, channels, s.crop, "--real");
  MX_CHECK(fake.size() >= 2, "--fake ", c.fake, ": the FID and the diversity need at least 2 images, got ", fake.size());
  MX_CHECK(real.size() >= 2, "--real ", c.real, ": the FID needs at least 2 images, got ", real.size());
  s.fake_images = fake.size(), s.real_images = real.size();
  if (!c.out.empty()) {  // a bad --out fails before the work, once every input has passed its checks
    const fs::path dir = fs::path(c.out).parent_path();
    files::ensure_writable_dir(dir.empty() ? "." : dir.string(), "--out");
  }
  const ClassifierOutputs f = classify(t, fake, c.batch_size), r = classify(t, real, c.batch_size);
  s.feature_dim = f.features.cols();
  s.target_share = target_share(f.logits, c.target_class);
  s.fid = frechet_distance(fit_gaussian(f.features), fit_gaussian(r.features));
  s.diversity = mean_pairwise_l1(fake, c.pairs, c.seed);
  if (!c.out.empty()) files::write_atomic(c.out, scores_json(s) + "\n");
  return s;
}

std::string scores_report(const TranslationScores& s) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf, "classifier: %s (%s on %s), %lld fake and %lld real images at %dx%d\n",
                s.checkpoint.c_str(), s.model.c_str(), s.dataset.c_str(), static_cast<long long>(s.fake_images),
                static_cast<long long>(s.real_images), s.crop, s.crop);
  out += buf;
  std::snprintf(buf, sizeof buf, "target share (top-1 = class %d): %.4f\n", s.target_class, s.target_share);
  out += buf;
  std::snprintf(buf, sizeof buf, "classifier FID (%lld penultimate features; not the Inception FID): %.6g\n",
                static_cast<long long>(s.feature_dim), s.fid);
  out += buf;
  std::snprintf(buf, sizeof buf, "diversity (mean pairwise L1, %s%lld pairs): %.6f\n", s.diversity.sampled ? "random " : "all ",
                static_cast<long long>(s.diversity.pairs), s.diversity.mean_l1);
  return out + buf;
}

std::string scores_json(const TranslationScores& s) {
  const nlohmann::json j = {{"classifier", s.checkpoint},
                            {"model", s.model},
                            {"dataset", s.dataset},
                            {"crop", s.crop},
                            {"fake_images", s.fake_images},
                            {"real_images", s.real_images},
                            {"target_class", s.target_class},
                            {"target_share", s.target_share},
                            {"classifier_fid", s.fid},
                            {"feature_dim", s.feature_dim},
                            {"diversity_mean_l1", s.diversity.mean_l1},
                            {"diversity_pairs", s.diversity.pairs},
                            {"diversity_sampled", s.diversity.sampled}};
  return j.dump(2);
}

}  // namespace mx::analysis
