// Mixers: take a batch of images and labels, return the mixed images and, per sample, the two
// labels and the weight of the first (labels are never one-hot). The host draws lambda, the partner
// permutation and the mode from one seeded generator; the pixels are mixed by one fused kernel call.
#pragma once
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/mix_batch.h"

namespace mx::mixup {

struct MixedBatch {
  Tensor images;  // [N, C, H, W] F32, same device as the input
  Tensor ya, yb;  // [N] I32: the sample's own label and its partner's
  Tensor lam;     // [N] F32: weight of ya in the loss
};

struct MixerOptions {
  std::string mix = "none";  // none (ERM) | c (mixup-C)
  double alpha = 1.0;        // lambda ~ Beta(alpha, alpha)
};

// The per-batch decisions, kept separate from the pixels so they can be inspected and tested.
struct MixPlan {
  std::vector<kernels::MixSample> samples;
  std::vector<float> label_weight;  // per sample, the weight of its own label
};

class Mixer {
 public:
  explicit Mixer(const MixerOptions& opt);  // throws mx::Error naming --mix or --alpha on bad values
  MixPlan plan(int64_t n, random::Rng& rng) const;
  MixedBatch mix(const Tensor& images, const Tensor& labels, random::Rng& rng) const;
  const MixerOptions& options() const { return opt_; }

 private:
  MixerOptions opt_;
};

// Runs the fused kernel for a plan: out[i] per plan.samples[i] (see kernels/mix_batch.h).
Tensor apply_plan(const Tensor& images, const std::vector<kernels::MixSample>& samples);

std::vector<std::string> mix_names();

}  // namespace mx::mixup
