// `mixup translation-score`: how well an image-to-image translation (CycleGAN, MixCycleGAN) did, scored by
// a trained classifier of the target domain's data set. Three figures over flat folders of images:
// - target share: the share of the fake images whose top-1 class is the target class;
// - classifier FID: the Frechet distance between Gaussians fitted to the classifier's penultimate
//   features of the fake and of the real images. A classifier-based FID, NOT the Inception FID: its
//   values depend on the classifier and are comparable only between runs scored by the same one;
// - diversity: the mean pairwise L1 distance (mean absolute pixel difference, pixels in [0, 1]) between
//   fake images, a check against mode collapse.
// Images are decoded to the classifier's channels (grey for Fashion-MNIST), centre-cropped and
// normalized as the classifier was trained.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/trained_model.h"
#include "datasets/datasets.h"

namespace mx::analysis {

struct TranslationScoreConfig {
  std::string classifier;  // a run directory (its best.safetensors, else checkpoint.safetensors) or a checkpoint
  std::string fake, real;  // flat folders of .png/.jpg images
  int target_class = -1;
  int crop = 0;            // centre crop side; 0: the classifier's input size
  int64_t pairs = 10000;   // diversity: all pairs when there are at most this many, else this many random ones
  uint64_t seed = 0;       // the random pairs
  std::string data_dir;    // the classifier's data set (its normalization when the checkpoint has none)
  std::string device = "auto";
  int batch_size = 256;
  int threads = 0;
  std::string out;         // JSON file to write; empty: none
};
void validate(const TranslationScoreConfig& c);  // throws naming the flag

// The checkpoint behind --classifier: the file itself, or a run directory's best.safetensors (else its
// checkpoint.safetensors). Throws naming --classifier.
std::string classifier_checkpoint(const std::string& classifier);

// The images of a flat folder (.png, .jpg, .jpeg, sorted by name), decoded to `channels` channels and
// centre-cropped to crop x crop (offsets (size - crop) / 2, truncated): U8 [N, C, crop, crop], labels 0.
// Throws naming `flag` and the path for a missing folder, no images, images of different sizes or
// smaller than the crop.
data::Dataset load_flat_folder(const std::string& dir, int channels, int crop, const std::string& flag);

// A Gaussian fitted to samples: their mean and unbiased (n - 1) covariance.
struct Gaussian {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
};
Gaussian fit_gaussian(const Eigen::MatrixXd& samples);  // one sample per row; at least 2 rows

// |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), with Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2)
// from two symmetric eigen-decompositions (tiny negative eigenvalues clamped to 0). In double.
double frechet_distance(const Gaussian& a, const Gaussian& b);

// The share of rows of `logits` [N, K] whose largest entry is class k.
double target_share(const Tensor& logits, int k);

// The mean over pairs (i, j), i < j, of the mean |x_i - x_j| of pixels scaled to [0, 1]: every pair when
// there are at most `max_pairs`, else `max_pairs` pairs drawn uniformly (i != j) from a generator seeded
// by `seed`. At least 2 images.
struct Diversity {
  double mean_l1 = 0;
  int64_t pairs = 0;  // pairs averaged
  bool sampled = false;
};
Diversity mean_pairwise_l1(const data::Dataset& images, int64_t max_pairs, uint64_t seed);

// The classifier's outputs for every image: logits [N, K] and penultimate features [N, F] (rows in
// image order), in batches of `batch_size`, evaluation mode, no gradients.
struct ClassifierOutputs {
  Tensor logits;
  Eigen::MatrixXd features;
};
ClassifierOutputs classify(TrainedModel& model, const data::Dataset& images, int batch_size);

struct TranslationScores {
  std::string checkpoint, model, dataset;
  int crop = 0, target_class = 0;
  int64_t fake_images = 0, real_images = 0, feature_dim = 0;
  double target_share = 0, fid = 0;
  Diversity diversity;
};
// Loads the classifier and both folders and computes the three figures.
TranslationScores translation_scores(const TranslationScoreConfig& c, const ProgressCallbacks& cb = {});

std::string scores_report(const TranslationScores& s);  // one line per figure
std::string scores_json(const TranslationScores& s);    // a JSON object

}  // namespace mx::analysis
