// An RGB canvas for the engine's own figures (mix previews, Fig. 2/3-style plots): filled
// rectangles, lines, text from stb_easy_font, and PNG output through stb_image_write, written
// atomically. No Python or gnuplot at run time.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mx::viz {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }

  void set(int x, int y, Rgb c);  // ignores pixels outside the canvas
  Rgb get(int x, int y) const;
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1);
  // A polyline through `points`; with dash > 0, dashes and gaps of `dash` pixels that run on across vertices.
  void polyline(const std::vector<std::pair<double, double>>& points, Rgb c, int thickness = 1, int dash = 0);
  // Text with its top-left corner at (x, y); `scale` multiplies stb_easy_font's ~7-pixel glyphs.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  // Text turned a quarter turn anticlockwise (read bottom to top), starting at (x, y) and running up;
  // its lines extend to the right of x.
  void text_up(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(const std::string& s, int scale = 1);

  void save_png(const std::string& path) const;  // throws mx::Error naming the path

 private:
  // Calls fn(x0, y0, x1, y1) for each filled rectangle of stb_easy_font's rendering of s at the origin.
  static void glyph_quads(const std::string& s, const std::function<void(float, float, float, float)>& fn);
  int w_, h_;
  std::vector<uint8_t> px_;  // row-major RGB
};

}  // namespace mx::viz
