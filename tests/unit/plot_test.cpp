// harness/plot: same input -> same bytes; structural facts read back from the pixels (a data point's pixel has its
// series color, the fitted line passes where a x + c says, a NaN breaks a line, heatmap cells and legend carry
// their colors, axes are drawn); the least-squares fit on exact cases; every refusal. The PNG a plot becomes is
// decoded by Pillow and the fit recomputed by numpy in tests/oracle/media_pillow.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include "common/check.hpp"
#include "harness/plot/bitmap_font.hpp"
#include "harness/plot/canvas.hpp"
#include "harness/plot/plot.hpp"

namespace {
using namespace sixbit::plot;
using sixbit::io::RgbImage;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Color pixel(const RgbImage& im, int x, int y) {
  const uint8_t* p = &im.rgb[(std::size_t(y) * im.width + x) * 3];
  return {p[0], p[1], p[2]};
}

int count_color(const RgbImage& im, Color c, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += pixel(im, x, y) == c;
  return n;
}

ScatterPlot sample_scatter() {
  ScatterPlot s;
  s.title = "sensitivity";
  s.x_label = "rel L1";
  s.y_label = "error";
  s.x = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0};
  s.y = {1.0, 3.5, 4.5, 7.5, 8.5, 11.0};
  s.group = {0, 1, 2, 0, 1, 2};
  s.group_names = {"attn", "cross", "ffn"};
  return s;
}

LinePlot sample_lines() {
  LinePlot p;
  p.title = "error per step";
  p.series = {{"W8A8", {0, 1, 2, 3, 4}, {1, 2, kNaN, 4, 5}}, {"W4A4", {0, 1, 2, 3, 4}, {9, 8, 7, 6, 5.5}}};
  return p;
}

Heatmap sample_heatmap() {
  Heatmap h;
  h.title = "precision map";
  h.rows = 3;
  h.cols = 4;
  h.values = {0, 1, 2, 3, 4, 0, kNaN, 1, 2, 3, 4, 0};
  h.categories = {{"full", {60, 60, 60}}, {"W8A8", {44, 160, 44}}, {"W4A8", {31, 119, 180}},
                  {"W4A4", {255, 127, 14}}, {"skipped", {235, 235, 235}}};
  return h;
}

TEST(PlotFont, EveryPrintableGlyphIsDistinct) {
  std::set<std::vector<uint8_t>> seen;
  for (char ch = 32; ch < 127; ++ch) {
    const uint8_t* r = glyph_rows(ch);
    std::vector<uint8_t> rows(r, r + kGlyphH);
    for (uint8_t b : rows) EXPECT_LT(b, 32) << "glyph '" << ch << "' wider than 5";
    EXPECT_TRUE(seen.insert(rows).second) << "glyph '" << ch << "' duplicates another";
    if (ch != ' ') {
      EXPECT_NE(rows, std::vector<uint8_t>(kGlyphH, 0)) << "glyph '" << ch << "' is blank";
    }
  }
  EXPECT_EQ(glyph_rows('\x01'), glyph_rows('?'));  // unprintable -> '?'
}

TEST(PlotFit, ExactLinesAndDegenerateCases) {
  const LineFit up = fit_line({0, 1, 2, 3}, {1, 3, 5, 7});  // y = 2x + 1 exactly
  EXPECT_DOUBLE_EQ(up.a, 2.0);
  EXPECT_DOUBLE_EQ(up.c, 1.0);
  EXPECT_DOUBLE_EQ(up.r, 1.0);
  EXPECT_DOUBLE_EQ(up.r2, 1.0);
  const LineFit down = fit_line({1, 2, 3}, {3, 2, 1});
  EXPECT_DOUBLE_EQ(down.a, -1.0);
  EXPECT_DOUBLE_EQ(down.r, -1.0);
  // x = {0, 1, 2}, y = {0, 2, 1}: mx = 1, my = 1, sxx = 2, sxy = 1, syy = 2 -> a = 0.5, c = 0.5, r = 0.5.
  const LineFit mid = fit_line({0, 1, 2}, {0, 2, 1});
  EXPECT_DOUBLE_EQ(mid.a, 0.5);
  EXPECT_DOUBLE_EQ(mid.c, 0.5);
  EXPECT_DOUBLE_EQ(mid.r, 0.5);
  EXPECT_DOUBLE_EQ(mid.r2, 0.25);
  EXPECT_TRUE(std::isnan(fit_line({0, 1, 2}, {4, 4, 4}).r));  // constant y: nothing to correlate
  EXPECT_THROW(fit_line({1, 1, 1}, {0, 1, 2}), sixbit::Error);
  EXPECT_THROW(fit_line({1}, {1}), sixbit::Error);
  EXPECT_THROW(fit_line({0, 1}, {0, kNaN}), sixbit::Error);
}

TEST(PlotScatter, DeterministicPointsLineAndAxes) {
  const ScatterPlot s = sample_scatter();
  PlotLayout l;
  const RgbImage im = plot_scatter(s, &l);
  EXPECT_EQ(im.rgb, plot_scatter(s).rgb);  // same input, same bytes
  ScatterPlot moved = s;
  moved.y[2] += 0.5;
  EXPECT_NE(im.rgb, plot_scatter(moved).rgb);
  for (std::size_t i = 0; i < s.x.size(); ++i)
    EXPECT_EQ(pixel(im, l.px(s.x[i]), l.py(s.y[i])), series_color(s.group[i])) << "point " << i;
  // The fit y = 1.9429 x + 1.1429 (hand: mx = 2.5, my = 6, sxy = 34, sxx = 17.5); at x = 2.5 no point is near.
  const LineFit f = fit_line(s.x, s.y);
  EXPECT_NEAR(f.a, 34 / 17.5, 1e-12);
  EXPECT_NEAR(f.c, 6 - 2.5 * 34 / 17.5, 1e-12);
  const Color at_line = pixel(im, l.px(2.5), l.py(f.a * 2.5 + f.c));
  EXPECT_TRUE(at_line != kWhite && at_line != series_color(0) && at_line != series_color(1)) << int(at_line[0]);
  // Axes: the frame runs along the left and bottom of the plot area; ticks below it.
  for (int y = l.top; y < l.bottom; y += 7) EXPECT_EQ(pixel(im, l.left - 1, y), kAxisColor);
  for (int x = l.left; x < l.right; x += 7) EXPECT_EQ(pixel(im, x, l.bottom), kAxisColor);
  // Title and fit line of text above the plot area, legend swatches right of it.
  EXPECT_GT(count_color(im, kTextColor, 0, 0, im.width, l.top), 200);
  EXPECT_GT(count_color(im, series_color(2), l.right, 0, im.width, im.height), 20);
}

TEST(PlotLines, PointsGapsAndLogAxis) {
  const LinePlot p = sample_lines();
  PlotLayout l;
  const RgbImage im = plot_lines(p, &l);
  EXPECT_EQ(im.rgb, plot_lines(p).rgb);
  for (int k = 0; k < 2; ++k)
    for (std::size_t i = 0; i < 5; ++i)
      if (!std::isnan(p.series[k].y[i])) {
        EXPECT_EQ(pixel(im, l.px(p.series[k].x[i]), l.py(p.series[k].y[i])), series_color(k)) << k << "," << i;
      }
  // Series 0 has NaN at x = 2: no segment from (1, 2) to (3, 4), so (2, 3) is not drawn; (0.5, 1.5) is.
  EXPECT_NE(pixel(im, l.px(2), l.py(3)), series_color(0));
  EXPECT_EQ(pixel(im, l.px(0.5), l.py(1.5)), series_color(0));
  LinePlot lg = p;
  lg.log_y = true;
  lg.series[1].y[3] = 0;  // not drawable on a log axis: a gap, not an error
  PlotLayout ll;
  const RgbImage li = plot_lines(lg, &ll);
  EXPECT_TRUE(ll.log_y);
  EXPECT_NEAR(ll.y_min, -0.03, 1e-12);  // decades 10^0 .. 10^1 (log10 units), 3% of the span beyond each
  EXPECT_NEAR(ll.y_max, 1.03, 1e-12);
  EXPECT_EQ(pixel(li, ll.px(2), ll.py(7)), series_color(1));
  EXPECT_EQ(pixel(li, ll.px(4), ll.py(5.5)), series_color(1));
  // Halfway between its neighbours (log scale: the geometric mean) nothing of series 1 is drawn.
  EXPECT_NE(pixel(li, ll.px(3), ll.py(std::sqrt(7 * 5.5))), series_color(1));
}

TEST(PlotHeatmap, CellsLegendAndMissing) {
  const Heatmap h = sample_heatmap();
  PlotLayout l;
  const RgbImage im = plot_heatmap(h, &l);
  EXPECT_EQ(im.rgb, plot_heatmap(h).rgb);
  ASSERT_GT(l.cell_w, 4);
  for (int r = 0; r < h.rows; ++r)
    for (int c = 0; c < h.cols; ++c) {
      const double v = h.values[std::size_t(r) * h.cols + c];
      const int x0 = l.left + c * l.cell_w, y0 = l.top + r * l.cell_h;
      if (std::isnan(v)) {  // hatched: only the two missing colors inside the cell
        const int area = (l.cell_w - 1) * (l.cell_h - 1);
        EXPECT_EQ(count_color(im, kMissingColor, x0, y0, x0 + l.cell_w - 1, y0 + l.cell_h - 1) +
                      count_color(im, kMissingHatch, x0, y0, x0 + l.cell_w - 1, y0 + l.cell_h - 1),
                  area);
      } else {
        EXPECT_EQ(pixel(im, x0 + l.cell_w / 2, y0 + l.cell_h / 2), h.categories[std::size_t(v)].color);
      }
    }
  for (const auto& cat : h.categories)  // every category has a legend swatch right of the grid
    EXPECT_GT(count_color(im, cat.color, l.right + 1, 0, im.width, im.height), 100) << cat.name;
  EXPECT_GT(count_color(im, kMissingColor, l.right + 1, 0, im.width, im.height), 50);
}

TEST(PlotHeatmap, ContinuousScaleEnds) {
  Heatmap h;
  h.rows = 2;
  h.cols = 3;
  h.values = {0.5, 1.0, 1.5, 2.0, 2.5, 3.0};
  h.value_label = "rel L1";
  PlotLayout l;
  const RgbImage im = plot_heatmap(h, &l);
  EXPECT_EQ(pixel(im, l.left + l.cell_w / 2, l.top + l.cell_h / 2), viridis(0.0));
  EXPECT_EQ(pixel(im, l.left + 2 * l.cell_w + l.cell_w / 2, l.top + l.cell_h + l.cell_h / 2), viridis(1.0));
  h.range = std::make_pair(0.0, 6.0);
  const RgbImage fixed = plot_heatmap(h, &l);
  EXPECT_EQ(pixel(fixed, l.left + 2 * l.cell_w + l.cell_w / 2, l.top + l.cell_h + l.cell_h / 2), viridis(0.5));
  EXPECT_EQ(viridis(0.0), (Color{68, 1, 84}));
  EXPECT_EQ(viridis(1.0), (Color{253, 231, 37}));
}

TEST(PlotErrors, EmptyMismatchedOrNonFiniteInput) {
  Heatmap h = sample_heatmap();
  h.values.pop_back();
  EXPECT_THROW(plot_heatmap(h), sixbit::Error);
  EXPECT_THROW(plot_heatmap(Heatmap{}), sixbit::Error);
  h = sample_heatmap();
  h.values[0] = 5;  // no such category
  EXPECT_THROW(plot_heatmap(h), sixbit::Error);
  h.values[0] = 0.5;  // not an index
  EXPECT_THROW(plot_heatmap(h), sixbit::Error);
  Heatmap cont;
  cont.rows = 1, cont.cols = 2, cont.values = {1.0, std::numeric_limits<double>::infinity()};
  EXPECT_THROW(plot_heatmap(cont), sixbit::Error);
  cont.values = {kNaN, kNaN};  // nothing to scale
  EXPECT_THROW(plot_heatmap(cont), sixbit::Error);
  ScatterPlot s = sample_scatter();
  s.y[1] = kNaN;
  EXPECT_THROW(plot_scatter(s), sixbit::Error);
  s = sample_scatter();
  s.group[0] = 3;
  EXPECT_THROW(plot_scatter(s), sixbit::Error);
  s = sample_scatter();
  s.y.pop_back();
  EXPECT_THROW(plot_scatter(s), sixbit::Error);
  EXPECT_THROW(plot_scatter(ScatterPlot{}), sixbit::Error);
  EXPECT_THROW(plot_lines(LinePlot{}), sixbit::Error);
  LinePlot p = sample_lines();
  p.series[0].x.pop_back();
  EXPECT_THROW(plot_lines(p), sixbit::Error);
  p = LinePlot{};
  p.series = {{"all nan", {0, 1}, {kNaN, kNaN}}};
  EXPECT_THROW(plot_lines(p), sixbit::Error);
  p.series = {{"zeros", {0, 1}, {0, -1}}};
  p.log_y = true;
  EXPECT_THROW(plot_lines(p), sixbit::Error);
}

TEST(PlotPng, RefusesToOverwrite) {
  const auto path = std::filesystem::temp_directory_path() / "sixbit_plot_test.png";
  std::filesystem::remove(path);
  const RgbImage im = plot_lines(sample_lines());
  write_plot_png(path.string(), im, false);
  EXPECT_THROW(write_plot_png(path.string(), im, false), sixbit::Error);
  write_plot_png(path.string(), im, true);
  EXPECT_EQ(std::filesystem::file_size(path), sixbit::io::encode_png(im).size());
  std::filesystem::remove(path);
}

}  // namespace
