// Sample grids (gan/grid.h) drawn on the engine's canvas.
#include "gan/grid.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "gan/stitch.h"
#include "viz/canvas.h"

namespace mx::gan {

namespace {

constexpr int kGap = 4, kMinTile = 64, kLabelWidth = 70;

uint8_t to_byte(float v) {  // [-1, 1] -> [0, 255]
  return static_cast<uint8_t>(std::lround(std::clamp((v + 1.f) * 127.5f, 0.f, 255.f)));
}

void draw_tile(viz::Canvas& canvas, const Tensor& tile, int x0, int y0, int scale) {
  const int64_t c = tile.size(0), h = tile.size(1), w = tile.size(2);
  const std::vector<float> v = tile.to_vector<float>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      auto at = [&](int64_t ch) { return to_byte(v[static_cast<size_t>((std::min(ch, c - 1) * h + y) * w + x)]); };
      const viz::Rgb px{at(0), at(1), at(2)};
      canvas.fill_rect(x0 + static_cast<int>(x) * scale, y0 + static_cast<int>(y) * scale, scale, scale, px);
    }
}

Tensor host_image(const Tensor& batch_of_one) {
  const Shape& s = batch_of_one.shape();
  return batch_of_one.to(Device::CPU).view({s[1], s[2], s[3]});
}

}  // namespace

const std::vector<std::string>& grid_columns() {
  static const std::vector<std::string> names{"real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"};
  return names;
}

GridRow translation_row(const CycleGanNets& nets, const Tensor& real_a, const Tensor& real_b, std::string label) {
  NoGradGuard no_grad;
  nn::Module &g_a = *nets.g_a, &g_b = *nets.g_b;
  const Tensor fake_b = g_a(real_a), fake_a = g_b(real_b);
  const Tensor images[] = {real_a, fake_b, g_b(fake_b), g_b(real_a), real_b, fake_a, g_a(fake_a), g_a(real_b)};
  GridRow row{std::move(label), {}};
  for (const Tensor& t : images) row.tiles.push_back(host_image(t));
  return row;
}

void write_grid(const std::string& path, const std::vector<GridRow>& rows, const std::string& title) {
  MX_CHECK(!rows.empty() && !rows[0].tiles.empty(), "write_grid: nothing to draw for ", path);
  const int h = static_cast<int>(rows[0].tiles[0].size(1)), w = static_cast<int>(rows[0].tiles[0].size(2));
  const int scale = std::max(1, (kMinTile + std::max(h, w) - 1) / std::max(h, w));
  const int tile_w = w * scale, tile_h = h * scale, top = 34;
  const int columns = static_cast<int>(grid_columns().size());
  viz::Canvas canvas(kLabelWidth + columns * (tile_w + kGap), top + static_cast<int>(rows.size()) * (tile_h + kGap));
  canvas.text(4, 4, title, {0, 0, 0});
  for (int k = 0; k < columns; ++k)
    canvas.text(kLabelWidth + k * (tile_w + kGap), 20, grid_columns()[static_cast<size_t>(k)], {0, 0, 0});
  for (size_t r = 0; r < rows.size(); ++r) {
    const int y = top + static_cast<int>(r) * (tile_h + kGap);
    canvas.text(4, y + tile_h / 2 - 4, rows[r].label, {0, 0, 0});
    for (size_t k = 0; k < rows[r].tiles.size(); ++k)
      draw_tile(canvas, rows[r].tiles[k], kLabelWidth + static_cast<int>(k) * (tile_w + kGap), y, scale);
  }
  canvas.save_png(path);
}

void write_training_grid(const std::string& path, const CycleGanNets& nets, Device dev,
                         const data::TranslationFolder& folder, const data::TranslationOptions& opt,
                         const CycleGanConfig& config) {
  data::TranslationOptions fixed = opt;
  fixed.partners = false;
  data::TranslationLoader loader(folder, fixed, false, 2 * config.grid_rows, config.seed);
  loader.start_epoch(0);
  data::TranslationBatch batch;
  MX_CHECK(loader.next(batch), "sample grid: no training images in ", folder.dir);
  const int64_t n = batch.a.size(0), rows = std::max<int64_t>(1, std::min<int64_t>(config.grid_rows, n / 2));
  std::vector<GridRow> out;
  for (int64_t r = 0; r < rows; ++r) {
    Tensor a = batch.a.slice(r, r + 1).to(dev), b = batch.b.slice(r, r + 1).to(dev);
    std::string label = "clean";
    if (config.mode == "mix") {
      const StitchDraw d{r % 2 == 0 ? mixup::Mode::V : mixup::Mode::H, 0.5};
      const int64_t p = std::min(r + rows, n - 1);
      a = stitch(a, batch.a.slice(p, p + 1).to(dev), d);
      b = stitch(b, batch.b.slice(p, p + 1).to(dev), d);
      label = d.mode == mixup::Mode::V ? "V 0.50" : "H 0.50";
    }
    out.push_back(translation_row(nets, a, b, label));
  }
  write_grid(path, out, "mixup cyclegan --mode " + config.mode + ": " + folder.dir);
}

}  // namespace mx::gan
