// ERM and mixup-C policies on top of the fused batch mixup kernel.
#include "mixup/mixer.h"

#include "engine/dispatch.h"

namespace mx::mixup {

std::vector<std::string> mix_names() { return {"none", "c"}; }

Mixer::Mixer(const MixerOptions& opt) : opt_(opt) {
  bool known = false;
  for (const auto& name : mix_names()) known |= name == opt.mix;
  MX_CHECK(known, "--mix: unknown mode '", opt.mix, "' (known: none, c)");
  MX_CHECK(opt.alpha > 0, "--alpha: must be > 0, got ", opt.alpha);
}

MixPlan Mixer::plan(int64_t n, random::Rng& rng) const {
  MixPlan p;
  p.samples.resize(static_cast<size_t>(n));
  p.label_weight.assign(static_cast<size_t>(n), 1.f);
  if (opt_.mix == "none") {
    for (int64_t i = 0; i < n; ++i) p.samples[static_cast<size_t>(i)].partner = static_cast<int32_t>(i);
    return p;
  }
  // mixup-C: one lambda per batch (the paper's choice), partner from a fresh permutation.
  const auto lam = static_cast<float>(random::beta(rng, opt_.alpha, opt_.alpha));
  std::vector<int64_t> perm = random::permutation(rng, n);
  for (size_t i = 0; i < p.samples.size(); ++i) {
    p.samples[i].partner = static_cast<int32_t>(perm[i]);
    p.samples[i].op = kernels::kBlend;
    p.samples[i].lam = lam;
    p.label_weight[i] = lam;
  }
  return p;
}

Tensor apply_plan(const Tensor& images, const std::vector<kernels::MixSample>& samples) {
  check_dtype(images, DType::F32, "mix_batch", "images");
  check_dim(images, 4, "mix_batch", "images");
  MX_CHECK(static_cast<int64_t>(samples.size()) == images.size(0), "mix_batch: ", samples.size(),
           " plans for a batch of ", images.size(0));
  for (const auto& s : samples)
    MX_CHECK(s.partner >= 0 && s.partner < images.size(0), "mix_batch: partner ", s.partner, " out of range");
  Tensor out = Tensor::empty(images.shape(), DType::F32, images.device());
  MX_DISPATCH(images.device(), mix_batch, out.data<float>(), images.data<float>(), samples.data(),
              images.size(0), images.size(1), images.size(2), images.size(3));
  return out;
}

MixedBatch Mixer::mix(const Tensor& images, const Tensor& labels, random::Rng& rng) const {
  check_dtype(labels, DType::I32, "mix", "labels");
  MixPlan p = plan(images.size(0), rng);
  std::vector<int32_t> ya = labels.to_vector<int32_t>(), yb(ya.size());
  for (size_t i = 0; i < ya.size(); ++i) yb[i] = ya[static_cast<size_t>(p.samples[i].partner)];
  MixedBatch out;
  out.images = opt_.mix == "none" ? images : apply_plan(images, p.samples);
  out.ya = labels;
  out.yb = Tensor::from_vector(yb, labels.shape(), labels.device());
  out.lam = Tensor::from_vector(p.label_weight, labels.shape(), labels.device());
  return out;
}

}  // namespace mx::mixup
