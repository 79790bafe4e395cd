// Figures drawn by the engine itself on a Canvas: line charts with one or two y axes and a legend
// (Fig. 2 style), heat maps with contour lines and a colour bar (Fig. 3 style), and the pieces they are
// made of (tick placement, the viridis colour map, marching-squares contours). The CSV files written
// beside each figure are the source of truth; these functions only draw.
#pragma once
#include <string>
#include <vector>

#include "viz/canvas.h"

namespace mx::viz::plot {

// Viridis (perceptually uniform, readable in grey and by most colour-blind readers): t in [0, 1]
// (clamped) interpolated linearly between nine control colours of the published map.
Rgb viridis(double t);

// Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// A line segment of a contour, in grid coordinates: x along i, y along j (fractional indices).
struct Segment {
  double x0, y0, x1, y1;
};
// Marching squares over values[j * nx + i] at the grid points (i, j): the segments where the values,
// interpolated linearly along each cell edge, cross `level`. A saddle cell is resolved by the mean of
// its four corners. Cells with a non-finite corner are skipped.
std::vector<Segment> contour_segments(const std::vector<double>& values, int nx, int ny, double level);

struct Series {
  std::string name;  // legend entry
  std::vector<double> x, y;
  Rgb color;
  int dash = 0;             // 0: solid, else dash length in pixels
  bool right_axis = false;  // plotted against the second y axis
};

struct LineChart {
  std::string title, x_label, y_label, y2_label;  // title: lines split by '\n'; y2_label empty: no second axis
  std::vector<Series> series;
  // Axis ranges; where lo == hi the range is taken from the data (y from 0 when the data are >= 0).
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0, y2_lo = 0, y2_hi = 0;
  std::vector<double> y_marks;  // dotted horizontal reference lines on the left axis
  int width = 900, height = 520;
};
Canvas draw_line_chart(const LineChart& chart);

struct HeatMap {
  std::string title, x_label, y_label, value_label;  // title: lines split by '\n'
  std::vector<double> values;  // values[j * nx + i]: i along x (left to right), j along y (bottom to top)
  int nx = 0, ny = 0;
  double x_lo = -1, x_hi = 1, y_lo = -1, y_hi = 1;
  double v_lo = 0, v_hi = 1;    // colour scale; values beyond it take the end colours
  std::vector<double> levels;   // contour lines, drawn thin in white
  double highlight = 0;         // one more contour, drawn thick in red (e.g. the target loss)
  bool has_highlight = false;
  std::string note;             // a line under the plot (e.g. what the red contour means)
  int size = 480;               // side of the square map in pixels
};
Canvas draw_heat_map(const HeatMap& map);

}  // namespace mx::viz::plot
