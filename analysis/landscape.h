// `mixup landscape` (paper Sec. III-C, Algorithm 1, Fig. 3): the loss of a trained network over a plane
// through its weights W, loss(alpha, beta) = loss(W + alpha d1 + beta d2), alpha, beta in [-range, range].
// The directions d1, d2 come from one of three methods:
//   weighted-noise (Algorithm 1, default): d_i = T_i * W elementwise with T_i ~ N(M, V), V a variance
//     (std = sqrt(V)). V is multiplied by (1 + mom) while loss(W + d_i) < L, or by (1 - mom) while it is
//     above, with a fresh T_i at every step, until the loss crosses L (at most max_search steps). As
//     written in the paper, V carries over from d1's search into d2's.
//   random-weights (the baseline of [33] extended to 2-D, as the paper embeds it in Algorithm 1):
//     d_i = T_i, a random weight tensor not scaled by W, with the same search for V.
//   filter-normalized (Li et al. [35]): d_i ~ N(0, 1), each filter (a slice along dim 0 of a tensor of
//     two or more dimensions) rescaled to the norm of the same filter of W; no search. A 1-D tensor
//     (bias, batch-norm scale or shift), when perturbed, takes d = W, as in Li et al.'s code.
// --perturb weights leaves 1-D tensors (biases and batch-norm parameters) out of every direction.
// The loss is the mean cross-entropy on a fixed seeded subset of the test set in eval mode; --bn
// reestimate recomputes the batch-norm running statistics at every point from training batches
// (train mode, no gradients, cumulative average). The weights move in place in the flat parameter
// buffer through ops::perturb_apply (kernels/perturb.h) and are restored bit for bit afterwards.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "analysis/trained_model.h"

namespace mx::analysis {

struct LandscapeConfig {
  ModelSource source;
  std::string method = "weighted-noise";  // weighted-noise | random-weights | filter-normalized
  double target_loss = 1.0;               // L
  double mean = 0, variance = 0.2, mom = 0.1;  // M, V (a variance), mom
  int max_search = 200;                   // bound on the variance steps per direction
  int grid = 51;                          // points per axis
  double range = 1;                       // alpha, beta in [-range, range]
  bool slice = false;                     // 1-D curve along d1 (beta = 0)
  std::string perturb = "all";            // all | weights (tensors of two or more dimensions)
  std::string bn = "keep";                // keep | reestimate
  int bn_batches = 10;                    // training batches per re-estimation
  int64_t samples = 2000;                 // test images the loss is measured on
  int batch_size = 256;
  double vmax = 0;                        // top of the colour scale (0: min(max loss, 3 L))
  uint64_t seed = 0;
  int threads = 0;
  std::string out;                        // output prefix (see output_prefix); empty: beside the checkpoint
};
void validate(const LandscapeConfig& c);  // throws naming the flag

// Algorithm 1's search for one direction.
struct SearchResult {
  double variance = 0;       // V of the direction kept
  uint64_t noise_key = 0;    // Philox key of its noise
  int steps = 0;             // variance updates after the first draw
  double loss = 0;           // loss(W + d_i)
  double previous_loss = 0;  // the loss one step before (equal to `loss` when no step was taken)
  bool crossed = false;      // the last step took the loss across L
};

// The machinery on one model: W saved, two directions, the loss at W + alpha d1 + beta d2.
class LossSurface {
 public:
  // `samples`: the test images the loss is measured on; `bn_data`: training images for --bn reestimate.
  LossSurface(nn::Module& net, ParameterStore& store, Device dev, const data::Dataset& samples,
              const data::Dataset& bn_data, const data::Normalization& norm, const LandscapeConfig& c);
  ~LossSurface();  // restore()
  LossSurface(const LossSurface&) = delete;
  LossSurface& operator=(const LossSurface&) = delete;

  train::EvalResult loss_at(double alpha, double beta);
  // Algorithm 1 for direction i (0 or 1), starting from and updating `variance`.
  SearchResult search(int i, double& variance);
  // Direction i drawn with Philox key `key` at `variance` (unused by filter-normalized).
  void set_direction(int i, double variance, uint64_t key);
  void restore();  // W and the batch-norm buffers exactly as they were

 private:
  void reestimate_batch_norm();
  void filter_normalize(Tensor& d) const;

  nn::Module& net_;
  ParameterStore& store_;
  Device dev_;
  LandscapeConfig c_;
  Tensor w0_, scale_, d_[2];
  std::vector<std::pair<Tensor, Tensor>> buffers_;  // each model buffer and its saved copy
  std::unique_ptr<data::Loader> samples_, bn_;
};

// Philox key of the noise drawn at the `call`-th draw for direction i.
uint64_t noise_key(uint64_t seed, int i, int call);

// Grid coordinates: range * (2k - (n - 1)) / (n - 1), k = 0 .. n - 1 (exactly 0 in the middle of an odd n).
std::vector<double> grid_axis(int n, double range);

struct LandscapeRow {
  double alpha = 0, beta = 0, loss = 0, acc = 0;
};

struct LandscapeSummary {
  std::vector<LandscapeRow> rows;     // alpha-major grid order (the slice: alpha only)
  std::vector<SearchResult> search;   // per direction searched (empty for filter-normalized)
  double test_loss = 0, test_acc = 0;  // the unperturbed model on the whole test set
  int64_t below = 0;                   // grid points with loss < L
  int64_t reused = 0, computed = 0;    // points read back from the CSV, points computed now
  double seconds_per_point = 0;        // over the points computed now
  std::string csv, png, json;          // files written
};

// Loads the checkpoint and data, finds the directions (or reads them back with the rows of an
// interrupted run), evaluates the grid writing PREFIX.csv after each point, then PREFIX.png and
// PREFIX.json (settings, directions, share below L, timing).
LandscapeSummary run_landscape(const LandscapeConfig& c, const ProgressCallbacks& cb);

}  // namespace mx::analysis
