// Line charts and heat maps on the Canvas: frames with ticks, series with dashes and a legend, a
// bilinearly shaded map with marching-squares contours and a colour bar.
#include "viz/plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "engine/error.h"

namespace mx::viz::plot {

namespace {

constexpr Rgb kBlack{0, 0, 0}, kGrey{150, 150, 150}, kLight{225, 225, 225}, kWhite{255, 255, 255};
constexpr Rgb kRed{230, 30, 30};
constexpr int kText = 2;  // text scale for labels, ticks and legends

// Where data coordinates land on the canvas: a rectangle of pixels and the ranges it shows.
struct Frame {
  int left, top, width, height;
  double x_lo, x_hi, y_lo, y_hi;
  double px(double x) const { return left + (x - x_lo) / (x_hi - x_lo) * width; }
  double py(double y) const { return top + height - (y - y_lo) / (y_hi - y_lo) * height; }
};

double tick_step(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(target, 1);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  char buf[32];
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

// [lo, hi] widened to whole tick steps; a degenerate range becomes a unit one.
std::pair<double, double> nice_range(double lo, double hi) {
  if (!(hi > lo)) return {lo - 0.5, lo + 0.5};
  const double step = tick_step(lo, hi, 6);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step};
}

int fitting_scale(const std::string& s, int width) { return Canvas::text_width(s, kText) <= width ? kText : 1; }

void centered_text(Canvas& c, int cx, int y, const std::string& s, int scale = kText) {
  c.text(cx - Canvas::text_width(s, scale) / 2, y, s, kBlack, scale);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out(1);
  for (char ch : s) {
    if (ch == '\n') out.emplace_back();
    else out.back().push_back(ch);
  }
  return out;
}

// The title's lines centred from the top, each at the largest scale that fits; returns the height used.
int draw_title(Canvas& c, const std::string& title) {
  int y = 10;
  for (const std::string& line : lines_of(title)) {
    centered_text(c, c.width() / 2, y, line, fitting_scale(line, c.width() - 20));
    y += 24;
  }
  return y;
}

// Box, x ticks below, y ticks on the left (and on the right for a second range), grid lines.
void draw_frame(Canvas& c, const Frame& f, bool grid) {
  const double xs = tick_step(f.x_lo, f.x_hi, 6), ys = tick_step(f.y_lo, f.y_hi, 6);
  for (double x : nice_ticks(f.x_lo, f.x_hi)) {
    const double p = f.px(x);
    if (grid) c.line(p, f.top, p, f.top + f.height, kLight);
    c.line(p, f.top + f.height, p, f.top + f.height + 5, kBlack);
    centered_text(c, static_cast<int>(p), f.top + f.height + 9, tick_label(x, xs));
  }
  for (double y : nice_ticks(f.y_lo, f.y_hi)) {
    const double p = f.py(y);
    if (grid) c.line(f.left, p, f.left + f.width, p, kLight);
    c.line(f.left - 5, p, f.left, p, kBlack);
    const std::string s = tick_label(y, ys);
    c.text(f.left - 8 - Canvas::text_width(s, kText), static_cast<int>(p) - 6, s, kBlack, kText);
  }
  c.polyline({{f.left, f.top}, {f.left + f.width, f.top}, {f.left + f.width, f.top + f.height},
              {f.left, f.top + f.height}, {f.left, f.top}},
             kBlack);
}

void draw_right_ticks(Canvas& c, const Frame& f, double lo, double hi) {
  const double step = tick_step(lo, hi, 6);
  for (double v : nice_ticks(lo, hi)) {
    const double p = f.top + f.height - (v - lo) / (hi - lo) * f.height;
    c.line(f.left + f.width, p, f.left + f.width + 5, p, kBlack);
    c.text(f.left + f.width + 8, static_cast<int>(p) - 6, tick_label(v, step), kBlack, kText);
  }
}

// The range of the axis: the given one, else the data's (from 0 when nothing is negative), widened to ticks.
std::pair<double, double> axis_range(double lo, double hi, const LineChart& chart, bool right) {
  if (hi > lo) return {lo, hi};
  double dmin = INFINITY, dmax = -INFINITY;
  for (const Series& s : chart.series) {
    if (s.right_axis != right) continue;
    for (double v : s.y)
      if (std::isfinite(v)) dmin = std::min(dmin, v), dmax = std::max(dmax, v);
  }
  if (!right)
    for (double m : chart.y_marks) dmin = std::min(dmin, m), dmax = std::max(dmax, m);
  if (!std::isfinite(dmin)) return {0, 1};
  return nice_range(dmin >= 0 ? 0 : dmin, dmax);
}

std::pair<double, double> x_range(const LineChart& chart) {
  if (chart.x_hi > chart.x_lo) return {chart.x_lo, chart.x_hi};
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : chart.series)
    for (double v : s.x) lo = std::min(lo, v), hi = std::max(hi, v);
  return std::isfinite(lo) ? nice_range(lo, hi) : std::make_pair(0.0, 1.0);
}

void draw_legend(Canvas& c, const std::vector<Series>& series, int x, int y) {
  for (const Series& s : series) {
    c.polyline({{x, y + 6}, {x + 30, y + 6}}, s.color, 3, s.dash > 0 ? 5 : 0);
    c.text(x + 38, y, s.name, kBlack, kText);
    y += 22;
  }
}

// Bilinear value at fractional grid coordinates; non-finite values count as `fallback`.
double bilinear(const HeatMap& m, double gx, double gy, double fallback) {
  const int i = std::clamp(static_cast<int>(gx), 0, std::max(m.nx - 2, 0));
  const int j = std::clamp(static_cast<int>(gy), 0, std::max(m.ny - 2, 0));
  const int i1 = std::min(i + 1, m.nx - 1), j1 = std::min(j + 1, m.ny - 1);
  auto at = [&](int a, int b) {
    const double v = m.values[static_cast<size_t>(b) * m.nx + a];
    return std::isfinite(v) ? v : fallback;
  };
  const double tx = std::clamp(gx - i, 0.0, 1.0), ty = std::clamp(gy - j, 0.0, 1.0);
  return (1 - ty) * ((1 - tx) * at(i, j) + tx * at(i1, j)) + ty * ((1 - tx) * at(i, j1) + tx * at(i1, j1));
}

void draw_contours(Canvas& c, const HeatMap& m, const Frame& f, double level, Rgb color, int thickness) {
  const double sx = f.width / std::max(m.nx - 1.0, 1.0), sy = f.height / std::max(m.ny - 1.0, 1.0);
  for (const Segment& s : contour_segments(m.values, m.nx, m.ny, level))
    c.line(f.left + s.x0 * sx, f.top + f.height - s.y0 * sy, f.left + s.x1 * sx, f.top + f.height - s.y1 * sy,
           color, thickness);
}

void draw_colour_bar(Canvas& c, const HeatMap& m, int x, int top, int height) {
  constexpr int kBarWidth = 22;
  for (int y = 0; y < height; ++y) c.fill_rect(x, top + y, kBarWidth, 1, viridis(1 - (y + 0.5) / height));
  const Frame bar{x, top, kBarWidth, height, 0, 1, m.v_lo, m.v_hi};
  const double step = tick_step(m.v_lo, m.v_hi, 6);
  for (double v : nice_ticks(m.v_lo, m.v_hi)) {
    const double p = bar.py(v);
    c.line(x + kBarWidth, p, x + kBarWidth + 4, p, kBlack);
    c.text(x + kBarWidth + 7, static_cast<int>(p) - 6, tick_label(v, step), kBlack, kText);
  }
  if (m.has_highlight && m.highlight >= m.v_lo && m.highlight <= m.v_hi)
    c.line(x - 3, bar.py(m.highlight), x + kBarWidth + 2, bar.py(m.highlight), kRed, 3);
  c.polyline({{x, top}, {x + kBarWidth, top}, {x + kBarWidth, top + height}, {x, top + height}, {x, top}}, kBlack);
  c.text_up(x + kBarWidth + 62, top + height / 2 + Canvas::text_width(m.value_label, kText) / 2, m.value_label,
            kBlack, kText);
}

}  // namespace

Rgb viridis(double t) {
  static const std::array<Rgb, 9> stops = {{{68, 1, 84},
                                            {71, 45, 123},
                                            {59, 82, 139},
                                            {44, 114, 142},
                                            {33, 144, 140},
                                            {39, 173, 129},
                                            {93, 200, 99},
                                            {170, 220, 50},
                                            {253, 231, 37}}};
  const double u = std::clamp(std::isfinite(t) ? t : 1.0, 0.0, 1.0) * (stops.size() - 1);
  const size_t k = std::min(static_cast<size_t>(u), stops.size() - 2);
  const double f = u - static_cast<double>(k);
  auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + f * (b - a))); };
  return {mix(stops[k].r, stops[k + 1].r), mix(stops[k].g, stops[k + 1].g), mix(stops[k].b, stops[k + 1].b)};
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return out;
  const double step = tick_step(lo, hi, target);
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; ++k) out.push_back(k * step);
  return out;
}

std::vector<Segment> contour_segments(const std::vector<double>& v, int nx, int ny, double level) {
  MX_CHECK(nx >= 2 && ny >= 2 && v.size() == static_cast<size_t>(nx) * ny, "contour_segments: ", v.size(),
           " values for a ", nx, " x ", ny, " grid");
  std::vector<Segment> out;
  for (int j = 0; j + 1 < ny; ++j)
    for (int i = 0; i + 1 < nx; ++i) {
      // Corners counter-clockwise from (i, j); edge e joins corner e and corner e + 1.
      const std::array<std::pair<int, int>, 4> corner = {{{i, j}, {i + 1, j}, {i + 1, j + 1}, {i, j + 1}}};
      std::array<double, 4> c{};
      bool finite = true;
      for (int k = 0; k < 4; ++k) {
        c[k] = v[static_cast<size_t>(corner[k].second) * nx + corner[k].first];
        finite = finite && std::isfinite(c[k]);
      }
      if (!finite) continue;
      std::array<std::pair<double, double>, 4> cross{};
      std::array<bool, 4> has{};
      int count = 0;
      for (int e = 0; e < 4; ++e) {
        const int a = e, b = (e + 1) % 4;
        if ((c[a] >= level) == (c[b] >= level)) continue;
        const double t = (level - c[a]) / (c[b] - c[a]);
        cross[e] = {corner[a].first + t * (corner[b].first - corner[a].first),
                    corner[a].second + t * (corner[b].second - corner[a].second)};
        has[e] = true;
        ++count;
      }
      auto add = [&](int e0, int e1) { out.push_back({cross[e0].first, cross[e0].second, cross[e1].first, cross[e1].second}); };
      if (count == 2) {
        int e0 = -1, e1 = -1;
        for (int e = 0; e < 4; ++e)
          if (has[e]) (e0 < 0 ? e0 : e1) = e;
        add(e0, e1);
      } else if (count == 4) {
        // Saddle: corners 0 and 2 lie on one side, 1 and 3 on the other; the centre decides which pair joins.
        const bool centre_above = (c[0] + c[1] + c[2] + c[3]) / 4 >= level;
        if (centre_above == (c[0] >= level)) add(0, 1), add(2, 3);  // cut off corners 1 and 3
        else add(3, 0), add(1, 2);                                  // cut off corners 0 and 2
      }
    }
  return out;
}

Canvas draw_line_chart(const LineChart& chart) {
  const bool two_axes = !chart.y2_label.empty();
  int legend_w = 0;
  for (const Series& s : chart.series) legend_w = std::max(legend_w, 46 + Canvas::text_width(s.name, kText));
  const int left = 90, top = 24 + 24 * static_cast<int>(lines_of(chart.title).size()),
            right = (two_axes ? 100 : 24) + legend_w;
  Canvas c(chart.width + legend_w, chart.height);
  const auto [x_lo, x_hi] = x_range(chart);
  const auto [y_lo, y_hi] = axis_range(chart.y_lo, chart.y_hi, chart, false);
  const auto [y2_lo, y2_hi] = axis_range(chart.y2_lo, chart.y2_hi, chart, true);
  const Frame f{left, top, c.width() - left - right, c.height() - top - 64, x_lo, x_hi, y_lo, y_hi};
  const Frame f2{f.left, f.top, f.width, f.height, x_lo, x_hi, y2_lo, y2_hi};
  draw_frame(c, f, true);
  if (two_axes) draw_right_ticks(c, f, y2_lo, y2_hi);
  for (double m : chart.y_marks) c.polyline({{f.left, f.py(m)}, {f.left + f.width, f.py(m)}}, kGrey, 1, 3);
  for (const Series& s : chart.series) {
    const Frame& g = s.right_axis ? f2 : f;
    std::vector<std::pair<double, double>> pts;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k)
      if (std::isfinite(s.y[k])) pts.emplace_back(g.px(s.x[k]), std::clamp(g.py(s.y[k]), 1.0 * f.top, 1.0 * (f.top + f.height)));
    c.polyline(pts, s.color, 2, s.dash);
  }
  draw_title(c, chart.title);
  centered_text(c, f.left + f.width / 2, f.top + f.height + 34, chart.x_label);
  c.text_up(12, f.top + f.height / 2 + Canvas::text_width(chart.y_label, kText) / 2, chart.y_label, kBlack, kText);
  if (two_axes)
    c.text_up(f.left + f.width + 70, f.top + f.height / 2 + Canvas::text_width(chart.y2_label, kText) / 2,
              chart.y2_label, kBlack, kText);
  draw_legend(c, chart.series, c.width() - legend_w, f.top + 10);
  return c;
}

Canvas draw_heat_map(const HeatMap& m) {
  MX_CHECK(m.nx >= 2 && m.ny >= 2 && m.values.size() == static_cast<size_t>(m.nx) * m.ny, "heat map: ",
           m.values.size(), " values for a ", m.nx, " x ", m.ny, " grid");
  MX_CHECK(m.v_hi > m.v_lo, "heat map: empty colour range [", m.v_lo, ", ", m.v_hi, "]");
  const int left = 90, top = 32 + 24 * static_cast<int>(lines_of(m.title).size()), s = m.size;
  Canvas c(left + s + 190, top + s + 90);
  const Frame f{left, top, s, s, m.x_lo, m.x_hi, m.y_lo, m.y_hi};
  for (int py = 0; py < s; ++py)
    for (int px = 0; px < s; ++px) {
      const double gx = (px + 0.5) / s * (m.nx - 1), gy = (1 - (py + 0.5) / s) * (m.ny - 1);
      c.set(left + px, top + py, viridis((bilinear(m, gx, gy, m.v_hi) - m.v_lo) / (m.v_hi - m.v_lo)));
    }
  for (double level : m.levels) draw_contours(c, m, f, level, kWhite, 1);
  if (m.has_highlight) draw_contours(c, m, f, m.highlight, kRed, 3);
  draw_frame(c, f, false);
  draw_colour_bar(c, m, left + s + 30, top, s);
  draw_title(c, m.title);
  centered_text(c, left + s / 2, top + s + 34, m.x_label);
  c.text_up(14, top + s / 2 + Canvas::text_width(m.y_label, kText) / 2, m.y_label, kBlack, kText);
  if (!m.note.empty()) centered_text(c, c.width() / 2, top + s + 62, m.note, fitting_scale(m.note, c.width() - 20));
  return c;
}

}  // namespace mx::viz::plot
