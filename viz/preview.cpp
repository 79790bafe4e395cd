// Mix preview: draws a seeded batch of training images (scaled to [0, 1]), mixes it with the
// requested policy through the same kernel as training, and lays the tiles out with captions.
#include "viz/preview.h"

#include <algorithm>
#include <cstdio>

#include "datasets/datasets.h"
#include "viz/canvas.h"

namespace mx::viz {

using mixup::MixedBatch;
using mixup::Mixer;
using mixup::Mode;
using mixup::MixPlan;
using mixup::mode_letter;

namespace {

constexpr int kPad = 6;
constexpr int kCaptionLines = 2;
constexpr int kLineHeight = 10;

// `count` training images picked by a seeded permutation, as F32 in [0, 1], with their labels.
std::pair<Tensor, Tensor> pick_batch(const data::Dataset& d, int count, uint64_t seed) {
  random::Rng rng = random::make_rng({seed, 7});
  std::vector<int64_t> order = random::permutation(rng, d.size());
  const int64_t per = d.images.numel() / d.size();
  Tensor x = Tensor::empty({count, d.channels(), d.height(), d.width()});
  std::vector<int32_t> y(static_cast<size_t>(count));
  const uint8_t* src = d.images.data<uint8_t>();
  const int32_t* lab = d.labels.data<int32_t>();
  float* dst = x.data<float>();
  for (int i = 0; i < count; ++i) {
    const int64_t k = order[static_cast<size_t>(i)];
    for (int64_t j = 0; j < per; ++j) dst[i * per + j] = src[k * per + j] / 255.f;
    y[static_cast<size_t>(i)] = lab[k];
  }
  return {x, Tensor::from_vector(y, {count})};
}

void draw_tile(Canvas& c, const float* img, int channels, int h, int w, int x0, int y0, int scale) {
  for (int y = 0; y < h * scale; ++y)
    for (int x = 0; x < w * scale; ++x) {
      auto at = [&](int ch) {
        const float v = img[(static_cast<size_t>(ch) * h + y / scale) * w + x / scale];
        return static_cast<uint8_t>(std::clamp(v, 0.f, 1.f) * 255.f + 0.5f);
      };
      const uint8_t r = at(0);
      c.set(x0 + x, y0 + y, channels >= 3 ? Rgb{r, at(1), at(2)} : Rgb{r, r, r});
    }
}

std::string caption(char mode, float weight, const std::string& name) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c %.2f %s", mode, weight, name.c_str());
  return buf;
}

}  // namespace

std::string write_preview(const PreviewConfig& cfg) {
  MX_CHECK(cfg.count > 0, "--count: must be > 0, got ", cfg.count);
  MX_CHECK(cfg.columns > 0, "--columns: must be > 0, got ", cfg.columns);
  MX_CHECK(cfg.scale > 0 && cfg.scale <= 32, "--scale: must be in 1..32, got ", cfg.scale);
  const Mixer mixer(cfg.mix);
  const std::string dir = cfg.data_dir.empty() ? data::default_data_dir(cfg.dataset) : cfg.data_dir;
  data::Split split = data::load_dataset(cfg.dataset, dir);
  const int count = static_cast<int>(std::min<int64_t>(cfg.count, split.train.size()));
  auto [x, y] = pick_batch(split.train, count, cfg.seed);
  random::Rng rng = random::make_rng({cfg.seed, 8});
  const MixPlan plan = mixer.plan(count, x.size(2), x.size(3), rng);
  MixedBatch mb = mixer.apply(x, y, plan);

  const int ch = static_cast<int>(x.size(1)), h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3));
  const int tile_w = std::max(w * cfg.scale, 84), tile_h = h * cfg.scale + kCaptionLines * kLineHeight + 4;
  const int cols = std::min(cfg.columns, count), rows = (count + cols - 1) / cols;
  const std::string title = "--mix " + cfg.mix.mix + "  --mix-per " + cfg.mix.per + "  --lam-x " +
                            (cfg.mix.lam_x.empty() ? "beta:" + std::to_string(cfg.mix.alpha).substr(0, 4) : cfg.mix.lam_x) +
                            "  --lam-l " + cfg.mix.lam_l + "  (" + cfg.dataset + ")";
  Canvas canvas(std::max(kPad + cols * (tile_w + kPad), Canvas::text_width(title) + 2 * kPad),
                kPad + 14 + rows * (tile_h + kPad));
  canvas.text(kPad, kPad, title, {0, 0, 0});
  std::vector<int32_t> ya = mb.ya.to_vector<int32_t>(), yb = mb.yb.to_vector<int32_t>();
  std::vector<float> lam = mb.lam.to_vector<float>();
  const float* pixels = mb.images.data<float>();
  for (int i = 0; i < count; ++i) {
    const int tx = kPad + (i % cols) * (tile_w + kPad), ty = kPad + 14 + (i / cols) * (tile_h + kPad);
    draw_tile(canvas, pixels + static_cast<size_t>(i) * ch * h * w, ch, h, w, tx, ty, cfg.scale);
    const auto k = static_cast<size_t>(i);
    const char mode = static_cast<char>(std::toupper(mode_letter(plan.modes[k])));
    canvas.text(tx, ty + h * cfg.scale + 3, caption(mode, lam[k], data::class_name(cfg.dataset, ya[k])), {0, 0, 0});
    if (plan.modes[k] != Mode::N)
      canvas.text(tx, ty + h * cfg.scale + 3 + kLineHeight,
                  caption(' ', 1 - lam[k], data::class_name(cfg.dataset, yb[k])), {90, 90, 90});
  }
  canvas.save_png(cfg.out);
  return "wrote " + cfg.out + ": " + std::to_string(count) + " " + cfg.dataset + " training images mixed with " + title;
}

}  // namespace mx::viz
