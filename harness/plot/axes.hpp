// sixbit/harness/plot/axes.hpp: what the scatter and line plots share: axis limits and "nice" ticks (steps of
// 1, 2 or 5 x 10^k; decades on a log axis), tick labels, the margins around the plot area, the frame with grid and
// labels, titles and the legend.
#pragma once

#include <string>
#include <vector>

#include "harness/plot/canvas.hpp"

namespace sixbit::plot {

struct Axis {
  double lo = 0, hi = 1;  // limits, in log10 units when log
  bool log = false;
  std::vector<double> ticks;  // positions in the same units as lo/hi
  std::vector<std::string> labels;
};

// Linear axis over [min, max] (finite), padded by 5% of the span on each side (a single value gets +-1, or
// +-10% of itself), ticks every nice step (about 6 of them).
Axis linear_axis(double min, double max);
// Log axis over positive [min, max]: whole decades, a tick per decade (every k-th decade when there are many).
Axis log_axis(double min, double max);
// A tick label: fixed point with the step's decimals, or d.dde-N when the numbers are very small or large.
std::string format_tick(double v, double step);

struct LegendEntry {
  std::string name;
  Color color;
  bool is_line;  // a line swatch (series) or a dot (scatter group)
};
int legend_width(const std::vector<LegendEntry>& entries);
void draw_legend(Canvas& c, int x, int y, const std::vector<LegendEntry>& entries);

// Title lines centred across the canvas from y = 12; returns the y below them.
int draw_titles(Canvas& c, const std::vector<std::string>& lines);

// Margins for an axis plot of the given canvas size, title lines and legend width; fills layout's rectangle and
// limits from the axes.
PlotLayout axis_layout(int width, int height, int title_lines, const Axis& x, const Axis& y, int legend_w);
// Grid, frame, ticks, tick labels and axis labels.
void draw_axes(Canvas& c, const PlotLayout& l, const Axis& x, const Axis& y, const std::string& x_label,
               const std::string& y_label);

}  // namespace sixbit::plot
