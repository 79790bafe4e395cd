// Mixers: take a batch of images and labels, return the mixed images and, per sample, the two
// labels and the weight of the first (labels are never one-hot). The host draws the mode, the
// mixing ratio and the partner permutation from one seeded generator; the pixels are mixed by one
// fused kernel call whatever the granularity. Exact semantics: README "Mixing semantics".
#pragma once
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/augment_mix.h"
#include "kernels/mix_batch.h"
#include "mixup/policy.h"

namespace mx::mixup {

struct MixedBatch {
  Tensor images;  // [N, C, H, W] F32, same device as the input
  Tensor ya, yb;  // [N] I32 on the images' device: the sample's own label and its partner's
  Tensor lam;     // [N] F32 on the images' device: weight of ya in the loss
};

struct MixerOptions {
  std::string mix = "none";        // mode set, see ModeSet
  double alpha = 1.0;              // lambda_x ~ Beta(alpha, alpha) unless lam_x is given
  std::string lam_x;               // distribution of the image ratio (empty: beta:alpha)
  std::string lam_l = "same";      // "same" or a distribution of the label ratio, drawn independently
  std::string lam_label = "exact"; // with lam_l same: exact share of x1's pixels, or the raw drawn lambda
  std::string per = "batch";       // batch | half (first half the first mode, second half the second) | sample
};

// A box of partner pixels pasted into a sample, half-open: rows [y0, y1), columns [x0, x1).
struct Box {
  int32_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  // Share of an h x w image left to the sample's own pixels: 1 - box area / (h w).
  double own_share(int64_t h, int64_t w) const;
  void set_paste(kernels::MixSample& s) const;  // s.op = kPaste with this box
};
// The seam of mode H (rows [round(lam h), h) from the partner) or V (columns [round(lam w), w)).
Box seam_box(Mode mode, double lam, int64_t h, int64_t w);

// The per-batch decisions, kept apart from the pixels so they can be inspected and tested.
struct MixPlan {
  std::vector<kernels::MixSample> samples;
  std::vector<float> label_weight;  // per sample, the weight of its own label
  std::vector<Mode> modes;          // per sample
};

class Mixer {
 public:
  explicit Mixer(const MixerOptions& opt);  // throws mx::Error naming the flag at fault
  MixPlan plan(int64_t n, int64_t height, int64_t width, random::Rng& rng) const;
  // Plan, then apply. images on the model's device; labels [N] I32 on the host (the plan is made
  // there); every output lies on the images' device.
  MixedBatch mix(const Tensor& images, const Tensor& labels, random::Rng& rng) const;
  MixedBatch apply(const Tensor& images, const Tensor& labels, const MixPlan& plan) const;
  // As mix, for a batch left to be built from stored images (ops::augment_mix): sample i is stored
  // image augment[i].source, augmented as augment[i] says and normalized through `table`. The plan
  // is the one mix draws for a batch of that size, so both give the same batch.
  MixedBatch mix_stored(const Tensor& stored, const Tensor& table, const std::vector<kernels::AugmentSample>& augment,
                        const Tensor& labels, random::Rng& rng) const;
  const MixerOptions& options() const { return opt_; }
  bool mixes() const { return !modes_.only_none(); }

 private:
  struct Draw {
    Mode mode = Mode::N;
    double lam_x = 1, lam_l = 1;
    Box box;  // pasted from the partner for H, V, R
  };
  Draw draw(Mode mode, int64_t height, int64_t width, random::Rng& rng) const;
  void set_box(Draw& d, int64_t height, int64_t width, random::Rng& rng) const;
  void fill(const Draw& d, int64_t height, int64_t width, size_t i, MixPlan& p) const;
  // The labels and label weights of a planned batch, on `dev`; images left undefined.
  static MixedBatch mixed_labels(const Tensor& labels, const MixPlan& p, Device dev);

  MixerOptions opt_;
  ModeSet modes_;
  LamDist lam_x_;
  bool lam_l_same_;
  LamDist lam_l_;
};

}  // namespace mx::mixup
