// Plots: the viridis table, tick placement, marching-squares contours against analytic surfaces, and
// line charts and heat maps written as PNG files.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "viz/plot.h"
#include "tests/fixtures.h"

using namespace mx::viz;

namespace {

double luminance(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

// f(x, y) on an n x n grid over [-1, 1]^2, values[j * n + i] at x = x_i, y = y_j.
std::vector<double> sample(int n, double (*f)(double, double)) {
  std::vector<double> v(static_cast<size_t>(n) * n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) v[static_cast<size_t>(j) * n + i] = f(-1 + 2.0 * i / (n - 1), -1 + 2.0 * j / (n - 1));
  return v;
}

double grid_to_coord(double g, int n) { return -1 + 2 * g / (n - 1); }

}  // namespace

TEST(Plot, ViridisRunsFromPurpleToYellowWithRisingLightness) {
  EXPECT_EQ(plot::viridis(0).r, 68);
  EXPECT_EQ(plot::viridis(0).b, 84);
  EXPECT_EQ(plot::viridis(1).r, 253);
  EXPECT_EQ(plot::viridis(1).g, 231);
  EXPECT_EQ(plot::viridis(-3).g, plot::viridis(0).g) << "clamped below";
  EXPECT_EQ(plot::viridis(7).g, plot::viridis(1).g) << "clamped above";
  double prev = -1;
  for (int k = 0; k <= 100; ++k) {
    const double l = luminance(plot::viridis(k / 100.0));
    EXPECT_GT(l, prev) << "lightness must rise at t = " << k / 100.0;
    prev = l;
  }
}

TEST(Plot, TicksAreRoundAndInsideTheRange) {
  std::vector<double> t = plot::nice_ticks(0, 1);
  ASSERT_EQ(t.size(), 6u);
  for (size_t k = 0; k < t.size(); ++k) EXPECT_NEAR(t[k], 0.2 * static_cast<double>(k), 1e-12);
  t = plot::nice_ticks(-1, 1);
  EXPECT_NEAR(t.front(), -1, 1e-12);
  EXPECT_NEAR(t.back(), 1, 1e-12);
  t = plot::nice_ticks(0.13, 21.7);
  EXPECT_NEAR(t.front(), 5, 1e-12);
  EXPECT_NEAR(t.back(), 20, 1e-12);
  EXPECT_TRUE(plot::nice_ticks(1, 1).empty());
}

TEST(Plot, ContourOfAParaboloidIsTheCircleWithinOneCell) {
  const int n = 41;
  const double cell = 2.0 / (n - 1);
  for (double radius : {0.33, 0.52, 0.87}) {  // level lines that miss every grid point
    std::vector<plot::Segment> segs =
        plot::contour_segments(sample(n, [](double x, double y) { return x * x + y * y; }), n, n, radius * radius);
    ASSERT_GT(segs.size(), 20u) << radius;
    std::set<int> sectors;
    std::map<std::pair<long, long>, int> ends;  // endpoint -> number of segments using it
    for (const plot::Segment& s : segs) {
      for (auto [gx, gy] : {std::make_pair(s.x0, s.y0), std::make_pair(s.x1, s.y1)}) {
        const double x = grid_to_coord(gx, n), y = grid_to_coord(gy, n);
        EXPECT_LT(std::fabs(std::hypot(x, y) - radius), cell) << "point (" << x << ", " << y << ") r " << radius;
        sectors.insert(static_cast<int>(std::floor((std::atan2(y, x) + M_PI) / (M_PI / 6))) % 12);
        ++ends[{std::lround(gx * 1e6), std::lround(gy * 1e6)}];
      }
    }
    EXPECT_EQ(sectors.size(), 12u) << "the level line goes all the way round";
    for (const auto& [point, uses] : ends) EXPECT_EQ(uses, 2) << "the contour is one closed loop";
  }
}

TEST(Plot, ContoursOfAPlaneAreStraightAndSaddlesSplitByTheCentre) {
  const int n = 11;
  std::vector<plot::Segment> segs = plot::contour_segments(sample(n, [](double x, double) { return x; }), n, n, 0.25);
  ASSERT_EQ(segs.size(), static_cast<size_t>(n - 1));
  for (const plot::Segment& s : segs) {
    EXPECT_NEAR(grid_to_coord(s.x0, n), 0.25, 1e-12);
    EXPECT_NEAR(grid_to_coord(s.x1, n), 0.25, 1e-12);
  }
  // One saddle cell: corners (0,0)=1, (1,0)=0, (1,1)=1, (0,1)=0; centre 0.5 >= 0.5 joins the high corners.
  segs = plot::contour_segments({1, 0, 0, 1}, 2, 2, 0.5);
  ASSERT_EQ(segs.size(), 2u);
  for (const plot::Segment& s : segs) {
    const double mx = (s.x0 + s.x1) / 2, my = (s.y0 + s.y1) / 2;
    EXPECT_TRUE((mx > 0.5 && my < 0.5) || (mx < 0.5 && my > 0.5)) << "segments cut off the low corners";
  }
  EXPECT_TRUE(plot::contour_segments({1, 2, 3, 4}, 2, 2, 10).empty());
  EXPECT_TRUE(plot::contour_segments({NAN, 0, 1, 1}, 2, 2, 0.5).empty()) << "non-finite cells are skipped";
}

TEST(Plot, HeatMapShadesByValueAndWritesAPng) {
  const int n = 21;
  plot::HeatMap m;
  m.title = "paraboloid";
  m.x_label = "alpha";
  m.y_label = "beta";
  m.value_label = "loss";
  m.values = sample(n, [](double x, double y) { return x * x + y * y; });
  m.nx = m.ny = n;
  m.v_lo = 0, m.v_hi = 2;
  m.levels = {0.5, 1.0, 1.5};
  m.highlight = 0.25, m.has_highlight = true;
  m.size = 200;
  Canvas c = plot::draw_heat_map(m);
  // The first pixel row of the map lies at the top edge (y = 1): value ~1 + x^2 ~ 1 at the middle.
  const Rgb centre = c.get(90 + 100, 56 + 100), corner = c.get(90 + 2, 56 + 2);
  EXPECT_LT(luminance(centre), luminance(corner)) << "low values dark, high values light";
  EXPECT_EQ(c.get(90 + 100, 56 + 100).r, plot::viridis(0).r);
  mx::test::TempDir tmp;
  c.save_png(tmp / "map.png");
  const std::string png = mx::test::read_file(tmp / "map.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(Plot, LineChartDrawsEverySeriesInItsColour) {
  plot::LineChart chart;
  chart.title = "two axes";
  chart.x_label = "lambda";
  chart.y_label = "accuracy (%)";
  chart.y2_label = "loss";
  std::vector<double> x, up, down;
  for (int k = 0; k <= 100; ++k) x.push_back(k / 100.0), up.push_back(k), down.push_back(5 - k / 20.0);
  chart.series = {{"up", x, up, {200, 0, 0}, 0, false}, {"down", x, down, {0, 0, 200}, 6, true}};
  Canvas c = plot::draw_line_chart(chart);
  int red = 0, blue = 0;
  for (int y = 0; y < c.height(); ++y)
    for (int xx = 0; xx < c.width(); ++xx) {
      const Rgb p = c.get(xx, y);
      red += p.r == 200 && p.g == 0 && p.b == 0;
      blue += p.r == 0 && p.g == 0 && p.b == 200;
    }
  EXPECT_GT(red, 500);
  EXPECT_GT(blue, 300);
  EXPECT_LT(blue, red) << "the dashed series leaves gaps";
}

TEST(Plot, UpwardTextIsTallerThanWide) {
  Canvas c(100, 200);
  c.text_up(10, 150, "accuracy", {0, 0, 0}, 2);
  int x_lo = 1000, x_hi = -1, y_lo = 1000, y_hi = -1;
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x)
      if (c.get(x, y).r == 0) x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
  EXPECT_GT(y_hi - y_lo, 3 * (x_hi - x_lo));
  EXPECT_LE(y_hi, 150);
  EXPECT_GE(x_lo, 10);
}

TEST(Plot, TextDrawsEveryGlyphOfShortComplexStrings) {
  auto inked = [](const std::string& s) {
    Canvas c(200, 40);
    c.text(2, 2, s, {0, 0, 0}, 2);
    int n = 0;
    for (int y = 0; y < c.height(); ++y)
      for (int x = 0; x < c.width(); ++x) n += c.get(x, y).r == 0;
    return n;
  };
  EXPECT_EQ(inked("800"), inked("8") + 2 * inked("0")) << "no glyph of a short label is cut off";
  EXPECT_EQ(inked("0.8%"), inked("0") + inked(".") + inked("8") + inked("%"));
}
