// Canvas drawing and PNG encoding (stb_easy_font quads rasterised as rectangles; stb_image_write).
#include "viz/canvas.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/files.h"

#include <stb_image_write.h>  // implemented in datasets/stb.cpp
#include <stb_easy_font.h>

namespace mx::viz {

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height) {
  MX_CHECK(width > 0 && height > 0, "canvas: invalid size ", width, "x", height);
  px_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < px_.size(); i += 3) px_[i] = bg.r, px_[i + 1] = bg.g, px_[i + 2] = bg.b;
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  uint8_t* p = &px_[(static_cast<size_t>(y) * static_cast<size_t>(w_) + static_cast<size_t>(x)) * 3];
  p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

Rgb Canvas::get(int x, int y) const {
  const uint8_t* p = &px_[(static_cast<size_t>(y) * static_cast<size_t>(w_) + static_cast<size_t>(x)) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  for (int yy = std::max(y, 0); yy < std::min(y + h, h_); ++yy)
    for (int xx = std::max(x, 0); xx < std::min(x + w, w_); ++xx) set(xx, yy, c);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb c, int thickness) {
  polyline({{x0, y0}, {x1, y1}}, c, thickness);
}

void Canvas::polyline(const std::vector<std::pair<double, double>>& points, Rgb c, int thickness, int dash) {
  const int r0 = -(thickness - 1) / 2;
  double run = 0;  // path length so far, for the dash phase
  for (size_t k = 1; k < points.size(); ++k) {
    const auto [x0, y0] = points[k - 1];
    const auto [x1, y1] = points[k];
    const double len = std::hypot(x1 - x0, y1 - y0);
    const int steps = static_cast<int>(std::ceil(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0)))) + 1;
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      if (dash > 0 && static_cast<int64_t>((run + t * len) / dash) % 2 == 1) continue;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      fill_rect(x + r0, y + r0, thickness, thickness, c);
    }
    run += len;
  }
}

void Canvas::glyph_quads(const std::string& s, const std::function<void(float, float, float, float)>& fn) {
  std::vector<char> buf(s.size() * 1024 + 1024);  // a glyph takes up to ~15 quads of 64 bytes
  std::string copy = s;
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
  const auto* v = reinterpret_cast<const float*>(buf.data());
  for (int q = 0; q < quads; ++q) {
    const float* a = v + q * 16;  // 4 vertices of 4 floats (x, y, z, packed colour)
    fn(a[0], a[1], a[8], a[9]);
  }
}

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  glyph_quads(s, [&](float qx0, float qy0, float qx1, float qy1) {
    fill_rect(x + static_cast<int>(qx0 * scale), y + static_cast<int>(qy0 * scale),
              static_cast<int>((qx1 - qx0) * scale), static_cast<int>((qy1 - qy0) * scale), c);
  });
}

void Canvas::text_up(int x, int y, const std::string& s, Rgb c, int scale) {
  // Text-space (u right, v down) goes to canvas (x + v, y - u).
  glyph_quads(s, [&](float qx0, float qy0, float qx1, float qy1) {
    fill_rect(x + static_cast<int>(qy0 * scale), y - static_cast<int>(qx1 * scale),
              static_cast<int>((qy1 - qy0) * scale), static_cast<int>((qx1 - qx0) * scale), c);
  });
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string copy = s;
  return stb_easy_font_width(copy.data()) * scale;
}

int Canvas::text_height(const std::string& s, int scale) {
  std::string copy = s;
  return stb_easy_font_height(copy.data()) * scale;
}

void Canvas::save_png(const std::string& path) const {
  std::string bytes;
  auto sink = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  MX_CHECK(stbi_write_png_to_func(sink, &bytes, w_, h_, 3, px_.data(), w_ * 3) != 0, path, ": PNG encoding failed");
  files::write_atomic(path, bytes);
}

}  // namespace mx::viz
