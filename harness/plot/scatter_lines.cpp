// sixbit/harness/plot/scatter_lines.cpp: plot_scatter (with fit_line) and plot_lines; see plot.hpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/check.hpp"
#include "harness/plot/axes.hpp"

namespace sixbit::plot {
namespace {

constexpr int kWidth = 960, kHeight = 600;
constexpr Color kFitColor = {70, 70, 70};

std::string fmt(const char* f, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  SIXBIT_CHECK(x.size() == y.size(), "fit_line: ", x.size(), " x values, ", y.size(), " y values");
  SIXBIT_CHECK(x.size() >= 2, "fit_line: needs at least 2 points, got ", x.size());
  const double n = double(x.size());
  double sx = 0, sy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    SIXBIT_CHECK(std::isfinite(x[i]) && std::isfinite(y[i]), "fit_line: point ", i, " (", x[i], ", ", y[i],
                 ") is not finite");
    sx += x[i];
    sy += y[i];
  }
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, syy = 0;  // centred sums: no cancellation of large means
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  SIXBIT_CHECK(sxx > 0, "fit_line: all x are equal (", mx, "): no line fits");
  LineFit f;
  f.a = sxy / sxx;
  f.c = my - f.a * mx;
  f.r = syy > 0 ? sxy / std::sqrt(sxx * syy) : std::numeric_limits<double>::quiet_NaN();
  f.r2 = f.r * f.r;
  return f;
}

io::RgbImage plot_scatter(const ScatterPlot& s, PlotLayout* layout) {
  SIXBIT_CHECK(!s.x.empty(), "scatter plot '", s.title, "': no points");
  SIXBIT_CHECK(s.x.size() == s.y.size(), "scatter plot '", s.title, "': ", s.x.size(), " x values, ", s.y.size(),
               " y values");
  SIXBIT_CHECK(s.group.empty() || s.group.size() == s.x.size(), "scatter plot '", s.title, "': ", s.group.size(),
               " group indices for ", s.x.size(), " points");
  for (std::size_t i = 0; i < s.x.size(); ++i)
    SIXBIT_CHECK(std::isfinite(s.x[i]) && std::isfinite(s.y[i]), "scatter plot '", s.title, "': point ", i, " (",
                 s.x[i], ", ", s.y[i], ") is not finite");
  for (int g : s.group)
    SIXBIT_CHECK(g >= 0 && g < int(s.group_names.size()), "scatter plot '", s.title, "': group ", g,
                 " has no name (", s.group_names.size(), " names)");
  const auto [xmin, xmax] = std::minmax_element(s.x.begin(), s.x.end());
  const auto [ymin, ymax] = std::minmax_element(s.y.begin(), s.y.end());
  const Axis ax = linear_axis(*xmin, *xmax), ay = linear_axis(*ymin, *ymax);

  std::vector<std::string> titles = {s.title};
  LineFit fit;
  if (s.fit) {
    fit = fit_line(s.x, s.y);
    titles.push_back("fit y = " + fmt("%.4g", fit.a) + " x " + (fit.c < 0 ? "- " : "+ ") + fmt("%.4g", std::fabs(fit.c)) +
                     "    r = " + (std::isnan(fit.r) ? std::string("n/a") : fmt("%.4f", fit.r)) +
                     "    R^2 = " + (std::isnan(fit.r2) ? std::string("n/a") : fmt("%.4f", fit.r2)));
  }
  std::vector<LegendEntry> legend;
  if (!s.group.empty())
    for (std::size_t g = 0; g < s.group_names.size(); ++g) legend.push_back({s.group_names[g], series_color(int(g)), false});
  if (s.fit) legend.push_back({"least squares", kFitColor, true});
  if (s.group.empty() && !s.fit) legend.clear();

  Canvas c(kWidth, kHeight, kWhite);
  draw_titles(c, titles);
  const PlotLayout l = axis_layout(kWidth, kHeight, int(titles.size()), ax, ay, legend_width(legend));
  draw_axes(c, l, ax, ay, s.x_label, s.y_label);
  c.set_clip(l.left, l.top, l.right, l.bottom);
  if (s.fit) c.line(l.px(*xmin), l.py(fit.a * *xmin + fit.c), l.px(*xmax), l.py(fit.a * *xmax + fit.c), kFitColor, 2);
  for (std::size_t i = 0; i < s.x.size(); ++i)  // in index order: a later point covers an earlier one
    c.disc(l.px(s.x[i]), l.py(s.y[i]), 4, series_color(s.group.empty() ? 0 : s.group[i]));
  c.clear_clip();
  draw_legend(c, l.right + 12, l.top, legend);
  if (layout) *layout = l;
  return c.take();
}

io::RgbImage plot_lines(const LinePlot& p, PlotLayout* layout) {
  SIXBIT_CHECK(!p.series.empty(), "line plot '", p.title, "': no series");
  auto drawable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!p.log_y || y > 0); };
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const Series& s : p.series) {
    SIXBIT_CHECK(s.x.size() == s.y.size(), "line plot '", p.title, "': series '", s.name, "' has ", s.x.size(),
                 " x values and ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) {
        xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
        ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
      }
  }
  SIXBIT_CHECK(xmin <= xmax, "line plot '", p.title, "': no finite point to draw", p.log_y ? " (> 0 on a log axis)" : "");
  const Axis ax = linear_axis(xmin, xmax), ay = p.log_y ? log_axis(ymin, ymax) : linear_axis(ymin, ymax);
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < p.series.size(); ++i) legend.push_back({p.series[i].name, series_color(int(i)), true});

  Canvas c(kWidth, kHeight, kWhite);
  draw_titles(c, {p.title});
  const PlotLayout l = axis_layout(kWidth, kHeight, 1, ax, ay, legend_width(legend));
  draw_axes(c, l, ax, ay, p.x_label, p.y_label);
  c.set_clip(l.left, l.top, l.right, l.bottom);
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const Color col = series_color(int(k));
    for (std::size_t i = 0; i + 1 < s.x.size(); ++i)  // a segment only between two drawable neighbours: gaps stay
      if (drawable(s.x[i], s.y[i]) && drawable(s.x[i + 1], s.y[i + 1]))
        c.line(l.px(s.x[i]), l.py(s.y[i]), l.px(s.x[i + 1]), l.py(s.y[i + 1]), col, 2);
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) c.disc(l.px(s.x[i]), l.py(s.y[i]), 3, col);
  }
  c.clear_clip();
  draw_legend(c, l.right + 12, l.top, legend);
  if (layout) *layout = l;
  return c.take();
}

}  // namespace sixbit::plot
