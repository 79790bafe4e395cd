// `mixup mixtest` (paper Sec. III-B, Fig. 2): a trained network tested on mixed pairs of test images.
// For lambda = 0, 1/(steps-1), ..., 1 every pair (x1, x2) is mixed by the fused batch-mixing kernel
// (C: lambda x1 + (1 - lambda) x2; H/V: a seam at round(lambda H) / round(lambda W); R: a centred box
// of x2 with area share 1 - lambda and the image's aspect ratio) and the network's outputs are scored
// against both labels. Eval mode, no gradients.
#pragma once
#include <string>
#include <vector>

#include "kernels/mix_batch.h"
#include "analysis/trained_model.h"
#include "mixup/policy.h"

namespace mx::analysis {

struct MixTestConfig {
  ModelSource source;
  std::string mix = "c";          // c | h | v | r
  int steps = 101;                // lambda = k / (steps - 1), k = 0 .. steps - 1
  int64_t limit = 0;              // number of test pairs (0: all)
  bool distinct_classes = false;  // keep only pairs whose labels differ
  int batch_size = 256;
  uint64_t seed = 0;              // the permutation that picks x2
  int threads = 0;
  std::string out;                // output prefix (see output_prefix); empty: beside the checkpoint
};
void validate(const MixTestConfig& c);  // throws naming the flag

// The test pairs: first[i] = the i-th test image (in order), second[i] = its partner under a fixed
// seeded permutation; with `distinct` only pairs of different classes are kept; at most `limit` pairs.
struct Pairs {
  std::vector<int64_t> first, second;
};
Pairs test_pairs(const data::Dataset& test, uint64_t seed, bool distinct, int64_t limit);

// One line of Fig. 2: the shares of pairs with top-1 = y1 (acc_x1), top-1 = y2 (acc_x2), top-1 = y1
// and top-2 = y2 (top2_x1x2), the reverse (top2_x2x1); the mean and the maximum over pairs of the mixed
// cross-entropy w CE(y1) + (1 - w) CE(y2), w = share (the exact share of x1's pixels, lambda for C).
struct MixTestRow {
  double lam = 0, share = 0;
  double acc_x1 = 0, acc_x2 = 0, top2_x1x2 = 0, top2_x2x1 = 0, loss_mean = 0, loss_max = 0;
};

struct MixTestOptions {
  mixup::Mode mode = mixup::Mode::C;
  int steps = 101;
  int batch_size = 256;
};
// The test over `pairs` of images of `images`, normalized with `norm`; progress counts forward passes.
std::vector<MixTestRow> mixed_pair_test(nn::Module& model, Device dev, const data::Dataset& images,
                                        const data::Normalization& norm, const Pairs& pairs,
                                        const MixTestOptions& opt, const ProgressCallbacks& cb = {});

// How pair (x1, x2) is mixed at ratio lam: the kernel's sample (kBlend for C, a kPaste box of x2 for
// H, V and R; the partner is left to the caller) and the weight of y1 (lam for C, else the exact share
// of x1's pixels).
struct PairMix {
  kernels::MixSample sample;
  double share = 1;
};
PairMix pair_mix(mixup::Mode mode, double lam, int64_t h, int64_t w);

struct MixTestSummary {
  std::vector<MixTestRow> rows;
  int64_t pairs = 0;
  std::string csv, png;  // files written
};
// Loads the checkpoint and data, runs the test and writes PREFIX.csv and PREFIX.png.
MixTestSummary run_mixtest(const MixTestConfig& c, const ProgressCallbacks& cb);

std::string mixtest_csv(const std::vector<MixTestRow>& rows);  // header + one line per lambda

}  // namespace mx::analysis
