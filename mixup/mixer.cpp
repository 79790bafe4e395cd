// Mixing plans (mode, ratio, partner and pasted box per sample) and their application by the fused
// batch-mixing op (ops::mix_batch).
#include "mixup/mixer.h"

#include <cmath>

#include "engine/ops.h"

namespace mx::mixup {

namespace {

LamDist image_ratio(const MixerOptions& o) {
  MX_CHECK(o.alpha >= kMinBetaParameter && o.alpha <= kMaxBetaParameter, "--alpha: ", o.alpha, " is outside [",
           kMinBetaParameter, ", ", kMaxBetaParameter, "]");
  return o.lam_x.empty() ? LamDist::beta(o.alpha) : LamDist::parse(o.lam_x, "--lam-x");
}

int32_t round_share(double lam, int64_t extent) { return static_cast<int32_t>(std::lround(lam * static_cast<double>(extent))); }

}  // namespace

double Box::own_share(int64_t h, int64_t w) const {
  return 1 - static_cast<double>((y1 - y0) * (x1 - x0)) / static_cast<double>(h * w);
}

void Box::set_paste(kernels::MixSample& s) const {
  s.op = kernels::kPaste;
  s.y0 = y0, s.y1 = y1, s.x0 = x0, s.x1 = x1;
}

Box seam_box(Mode mode, double lam, int64_t h, int64_t w) {
  MX_CHECK(mode == Mode::H || mode == Mode::V, "seam_box: mode ", mode_letter(mode), " has no seam");
  const auto hh = static_cast<int32_t>(h), ww = static_cast<int32_t>(w);
  return mode == Mode::H ? Box{round_share(lam, h), hh, 0, ww} : Box{0, hh, round_share(lam, w), ww};
}

Mixer::Mixer(const MixerOptions& opt)
    : opt_(opt),
      modes_(ModeSet::parse(opt.mix, "--mix")),
      lam_x_(image_ratio(opt)),
      lam_l_same_(opt.lam_l == "same"),
      lam_l_(lam_l_same_ ? lam_x_ : LamDist::parse(opt.lam_l, "--lam-l")) {
  MX_CHECK(opt.lam_label == "exact" || opt.lam_label == "raw", "--lam-label: '", opt.lam_label,
           "' is not exact or raw");
  MX_CHECK(opt.per == "batch" || opt.per == "half" || opt.per == "sample", "--mix-per: '", opt.per,
           "' is not batch, half or sample");
  MX_CHECK(opt.per != "half" || modes_.modes().size() == 2, "--mix-per half: needs exactly two modes (e.g. --mix hv), got '",
           opt.mix, "'");
}

// One decision: the mode, the ratios, and for the spatial modes the box taken from the partner.
Mixer::Draw Mixer::draw(Mode mode, int64_t h, int64_t w, random::Rng& rng) const {
  Draw d;
  d.mode = mode;
  if (mode == Mode::N) return d;
  d.lam_x = lam_x_.draw(rng);
  d.lam_l = lam_l_same_ ? d.lam_x : lam_l_.draw(rng);
  set_box(d, h, w, rng);
  return d;
}

// The box of partner pixels for d.mode and d.lam_x (empty for N and C).
void Mixer::set_box(Draw& d, int64_t h, int64_t w, random::Rng& rng) const {
  d.box = Box{};
  const Mode mode = d.mode;
  if (mode == Mode::H || mode == Mode::V) {
    d.box = seam_box(mode, d.lam_x, h, w);
  } else if (mode == Mode::R) {
    // A box of area (1 - lambda) * H * W with a free aspect ratio: height uniform among the integers
    // that allow a width inside the image, width the rounded quotient, position uniform inside.
    const double area = (1 - d.lam_x) * static_cast<double>(h * w);
    if (area >= 0.5) {
      const auto lo = static_cast<int64_t>(std::max(1.0, std::ceil(area / static_cast<double>(w) - 1e-9)));
      const auto hi = static_cast<int64_t>(std::min(static_cast<double>(h), std::max(1.0, std::floor(area))));
      const int64_t bh = lo + static_cast<int64_t>(random::uniform_below(rng, static_cast<uint64_t>(std::max<int64_t>(hi - lo, 0) + 1)));
      const int64_t bw = std::clamp<int64_t>(std::lround(area / static_cast<double>(bh)), 1, w);
      const auto top = static_cast<int64_t>(random::uniform_below(rng, static_cast<uint64_t>(h - bh + 1)));
      const auto left = static_cast<int64_t>(random::uniform_below(rng, static_cast<uint64_t>(w - bw + 1)));
      d.box = Box{static_cast<int32_t>(top), static_cast<int32_t>(top + bh), static_cast<int32_t>(left),
                  static_cast<int32_t>(left + bw)};
    }
  }
}

// Sample i of the plan from decision d: kernel op, box, and the weight of the sample's own label.
void Mixer::fill(const Draw& d, int64_t h, int64_t w, size_t i, MixPlan& p) const {
  kernels::MixSample& s = p.samples[i];
  p.modes[i] = d.mode;
  double share = 1;  // exact share of the sample's own pixels
  if (d.mode == Mode::N) {
    s.partner = static_cast<int32_t>(i);  // a clean sample is its own partner: y_b = y_a
  } else if (d.mode == Mode::C) {
    s.op = kernels::kBlend;
    s.lam = static_cast<float>(d.lam_x);
    share = d.lam_x;
  } else {
    d.box.set_paste(s);
    share = d.box.own_share(h, w);
  }
  double weight = share;
  if (d.mode != Mode::N && !lam_l_same_) weight = d.lam_l;
  else if (d.mode != Mode::N && opt_.lam_label == "raw") weight = d.lam_x;
  p.label_weight[i] = static_cast<float>(weight);
}

MixPlan Mixer::plan(int64_t n, int64_t h, int64_t w, random::Rng& rng) const {
  MixPlan p;
  const auto count = static_cast<size_t>(n);
  p.samples.resize(count);
  p.label_weight.assign(count, 1.f);
  p.modes.assign(count, Mode::N);
  std::vector<int64_t> perm = random::permutation(rng, n);
  for (size_t i = 0; i < count; ++i) p.samples[i].partner = static_cast<int32_t>(perm[i]);
  if (opt_.per == "sample") {
    for (size_t i = 0; i < count; ++i) fill(draw(modes_.draw(rng), h, w, rng), h, w, i, p);
  } else if (opt_.per == "half") {
    // The paper's code: one ratio per batch, the first half stitched by the first mode, the second
    // half by the second.
    const Draw first = draw(modes_.modes()[0].first, h, w, rng);
    Draw second = first;
    second.mode = modes_.modes()[1].first;
    if (first.mode == Mode::N) second = draw(second.mode, h, w, rng);
    else set_box(second, h, w, rng);
    for (size_t i = 0; i < count; ++i) fill(i < count / 2 ? first : second, h, w, i, p);
  } else {
    const Draw d = draw(modes_.draw(rng), h, w, rng);
    for (size_t i = 0; i < count; ++i) fill(d, h, w, i, p);
  }
  return p;
}

MixedBatch Mixer::mix(const Tensor& images, const Tensor& labels, random::Rng& rng) const {
  check_dim(images, 4, "mix", "images");
  return apply(images, labels, plan(images.size(0), images.size(2), images.size(3), rng));
}

MixedBatch Mixer::mix_stored(const Tensor& stored, const Tensor& table,
                             const std::vector<kernels::AugmentSample>& augment, const Tensor& labels,
                             random::Rng& rng) const {
  check_dim(stored, 4, "mix", "stored images");
  const MixPlan p = plan(static_cast<int64_t>(augment.size()), stored.size(2), stored.size(3), rng);
  MixedBatch out = mixed_labels(labels, p, stored.device());
  out.images = ops::augment_mix(stored, table, augment, p.samples);
  return out;
}

MixedBatch Mixer::apply(const Tensor& images, const Tensor& labels, const MixPlan& p) const {
  MixedBatch out = mixed_labels(labels, p, images.device());
  out.images = mixes() ? ops::mix_batch(images, p.samples) : images;
  return out;
}

MixedBatch Mixer::mixed_labels(const Tensor& labels, const MixPlan& p, Device dev) {
  check_dtype(labels, DType::I32, "mix", "labels");
  MX_CHECK(labels.numel() == static_cast<int64_t>(p.samples.size()), "mix: ", labels.numel(), " labels for ",
           p.samples.size(), " images");
  std::vector<int32_t> ya = labels.to_vector<int32_t>(), yb(ya.size());
  for (size_t i = 0; i < ya.size(); ++i) yb[i] = ya[static_cast<size_t>(p.samples[i].partner)];
  MixedBatch out;
  out.ya = labels.to(dev);
  out.yb = Tensor::from_vector(yb, labels.shape(), dev);
  out.lam = Tensor::from_vector(p.label_weight, labels.shape(), dev);
  return out;
}

}  // namespace mx::mixup
