// sixbit/harness/plot/plot.hpp: small dependency-free plots rendered into an 8-bit RGB image (then a PNG through
// io::write_png): a heatmap (the precision map, block x step), a scatter with a fitted line (input-output
// difference vs quantization sensitivity) and a line chart (error per step). Text uses the built-in 5x8 bitmap
// font (bitmap_font.hpp) at 2x. Rendering is integer-only after the data-to-pixel mapping, so the same input gives
// the same bytes on every machine.
//
// Input rules (violations throw sixbit::Error): no empty data; sizes must match; labels are printable ASCII
// (others draw as '?').
//  - heatmap: a NaN cell is drawn in kMissingColor hatched with kMissingHatch and the legend gains a
//    "missing (NaN)" entry; with categories every other value must be an integer index into them; continuous
//    values must be finite and use the viridis scale over `range` (values outside it clamp to its ends), or over
//    the finite min..max when unset.
//  - scatter: every x and y must be finite (NaN/inf are refused: a fit cannot skip them silently).
//  - lines: a NaN/inf point, or a point <= 0 on a log axis, is not drawn and breaks the line there (a gap);
//    a plot with no drawable point at all is an error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reference/io/image_io.hpp"

namespace sixbit::plot {

using Color = std::array<uint8_t, 3>;

constexpr Color kMissingColor = {200, 200, 200}, kMissingHatch = {120, 120, 120};  // NaN heatmap cells, hatched
// Series / group colors in order (matplotlib's "tab10" cycle), reused cyclically.
Color series_color(int i);
// Viridis at t in [0, 1] (linear between its 10 published stops; t is clamped).
Color viridis(double t);

// Where the data went, for tests and for callers that annotate a plot. Plot area: pixels [left, right) x
// [top, bottom). Axis plots map data through px/py; heatmaps place cell (r, c) at
// [left + c * cell_w, left + (c + 1) * cell_w) x [top + r * cell_h, ...), row 0 at the top.
struct PlotLayout {
  int left = 0, top = 0, right = 0, bottom = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // axis limits (log10 of the values when log_y)
  bool log_y = false;
  int cell_w = 0, cell_h = 0;  // heatmaps only
  int px(double x) const;      // pixel column of data x
  int py(double y) const;      // pixel row of data y (takes the value, not its log)
};

struct Category {
  std::string name;
  Color color;
};

struct Heatmap {
  std::string title, x_label, y_label;
  int rows = 0, cols = 0;
  std::vector<double> values;                       // [rows, cols], row-major; NaN = missing
  std::vector<std::string> row_labels, col_labels;  // optional (empty: 0, 1, ...); thinned to fit
  std::vector<Category> categories;                 // non-empty: categorical (values are indices)
  std::optional<std::pair<double, double>> range;   // continuous scale limits (default: finite min..max)
  std::string value_label;                          // continuous legend title
};

struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<double> x, y;
  std::vector<int> group;               // optional, one per point: index into group_names
  std::vector<std::string> group_names;
  bool fit = true;                      // draw the least-squares line y = a x + c; a, c, r, R^2 under the title
};

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;
};

// Ordinary least squares y = a x + c over the points, in double, summed in index order; r is Pearson's
// correlation and r2 = r^2 (the coefficient of determination of this fit). Needs >= 2 points and x not constant;
// r and r2 are NaN when y is constant (no variance to explain).
struct LineFit {
  double a = 0, c = 0, r = 0, r2 = 0;
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

io::RgbImage plot_heatmap(const Heatmap& h, PlotLayout* layout = nullptr);
io::RgbImage plot_scatter(const ScatterPlot& s, PlotLayout* layout = nullptr);
io::RgbImage plot_lines(const LinePlot& p, PlotLayout* layout = nullptr);

// io::write_png: refuses an existing file unless `overwrite`.
void write_plot_png(const std::string& path, const io::RgbImage& image, bool overwrite);

}  // namespace sixbit::plot
