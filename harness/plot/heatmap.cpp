// sixbit/harness/plot/heatmap.cpp: plot_heatmap; see plot.hpp. Layout, left to right: y label, row labels, the
// grid of cells (row 0 at the top), the legend (category swatches, or a viridis color bar); column labels and the
// x label below the grid.
#include <algorithm>
#include <cmath>
#include <string>

#include "common/check.hpp"
#include "harness/plot/axes.hpp"

namespace sixbit::plot {
namespace {

constexpr int kPad = 10, kSwatch = 16, kBarW = 22;

int label_skip(int needed_px, int cell_px) { return std::max(1, (needed_px + cell_px - 1) / cell_px); }

std::string label_of(const std::vector<std::string>& labels, int i) {
  return labels.empty() ? std::to_string(i) : labels[std::size_t(i)];
}

// Missing cells: kMissingColor with diagonal stripes of kMissingHatch (pixels with (x + y) % 4 == 0), so they
// stand apart from any category color.
void hatch(Canvas& c, int x, int y, int w, int h) {
  for (int j = y; j < y + h; ++j)
    for (int i = x; i < x + w; ++i)
      if ((i + j) % 4 == 0) c.set(i, j, kMissingHatch);
}

}  // namespace

io::RgbImage plot_heatmap(const Heatmap& h, PlotLayout* layout) {
  SIXBIT_CHECK(h.rows > 0 && h.cols > 0, "heatmap '", h.title, "': empty (", h.rows, " x ", h.cols, ")");
  SIXBIT_CHECK(h.values.size() == std::size_t(h.rows) * std::size_t(h.cols), "heatmap '", h.title, "': ",
               h.values.size(), " values for ", h.rows, " x ", h.cols);
  SIXBIT_CHECK(h.row_labels.empty() || int(h.row_labels.size()) == h.rows, "heatmap '", h.title, "': ",
               h.row_labels.size(), " row labels for ", h.rows, " rows");
  SIXBIT_CHECK(h.col_labels.empty() || int(h.col_labels.size()) == h.cols, "heatmap '", h.title, "': ",
               h.col_labels.size(), " column labels for ", h.cols, " columns");
  const bool categorical = !h.categories.empty();
  bool any_missing = false;
  double lo = INFINITY, hi = -INFINITY;
  for (std::size_t i = 0; i < h.values.size(); ++i) {
    const double v = h.values[i];
    if (std::isnan(v)) {
      any_missing = true;
      continue;
    }
    if (categorical)
      SIXBIT_CHECK(v >= 0 && v < double(h.categories.size()) && v == std::floor(v), "heatmap '", h.title,
                   "': cell (", i / h.cols, ", ", i % h.cols, ") = ", v, " is not a category index 0..",
                   h.categories.size() - 1);
    else
      SIXBIT_CHECK(std::isfinite(v), "heatmap '", h.title, "': cell (", i / h.cols, ", ", i % h.cols, ") is ", v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!categorical) {
    if (h.range) {
      SIXBIT_CHECK(std::isfinite(h.range->first) && std::isfinite(h.range->second) && h.range->first < h.range->second,
                   "heatmap '", h.title, "': bad color range ", h.range->first, "..", h.range->second);
      lo = h.range->first;
      hi = h.range->second;
    }
    SIXBIT_CHECK(lo <= hi, "heatmap '", h.title, "': no finite value and no range for the color scale");
  }

  // Geometry: cells sized to make the grid about 720 x 480 pixels, within 4..40 pixels per cell.
  const int cw = std::clamp(720 / h.cols, 4, 40), ch = std::clamp(480 / h.rows, 4, 40);
  int row_label_w = 0, col_label_w = 0;
  for (int r = 0; r < h.rows; ++r) row_label_w = std::max(row_label_w, text_width(label_of(h.row_labels, r)));
  for (int c = 0; c < h.cols; ++c) col_label_w = std::max(col_label_w, text_width(label_of(h.col_labels, c)));
  const int row_skip = label_skip(text_height() + 4, ch), col_skip = label_skip(col_label_w + 12, cw);

  std::vector<std::pair<std::string, Color>> swatches;
  if (categorical)
    for (const auto& cat : h.categories) swatches.push_back({cat.name, cat.color});
  if (any_missing) swatches.push_back({"missing (NaN)", kMissingColor});
  int legend_w = 0;
  for (const auto& s : swatches) legend_w = std::max(legend_w, kSwatch + 8 + text_width(s.first));
  Axis bar;
  if (!categorical) {
    bar = linear_axis(lo, hi);
    bar.ticks.clear(), bar.labels.clear();
    const Axis t = linear_axis(lo, hi);  // nice ticks, kept only inside [lo, hi]
    for (std::size_t i = 0; i < t.ticks.size(); ++i)
      if (t.ticks[i] >= lo - 1e-12 * std::fabs(lo) && t.ticks[i] <= hi + 1e-12 * std::fabs(hi))
        bar.ticks.push_back(t.ticks[i]), bar.labels.push_back(t.labels[i]);
    int w = 0;
    for (const auto& s : bar.labels) w = std::max(w, text_width(s));
    legend_w = std::max({legend_w, kBarW + 8 + w, text_width(h.value_label)});
  }

  PlotLayout l;
  l.cell_w = cw;
  l.cell_h = ch;
  l.top = 12 + (text_height() + 8) + 12 + (categorical ? 0 : text_height() + 8);
  l.left = 12 + text_height() + kPad + row_label_w + 8;
  l.right = l.left + h.cols * cw;
  l.bottom = l.top + h.rows * ch;
  l.x_min = 0, l.x_max = h.cols, l.y_min = 0, l.y_max = h.rows;
  const int width = std::max(l.right + 2 * kPad + legend_w + 16, text_width(h.title) + 24);
  const int height = std::max(l.bottom + 6 + text_height() + kPad + text_height() + 12,
                              l.top + int(swatches.size()) * (kSwatch + 8) + 8);

  Canvas c(width, height, kWhite);
  draw_titles(c, {h.title});
  const int gap = (cw >= 6 && ch >= 6) ? 1 : 0;  // a white seam between cells when they are big enough to show it
  for (int r = 0; r < h.rows; ++r)
    for (int q = 0; q < h.cols; ++q) {
      const double v = h.values[std::size_t(r) * h.cols + q];
      Color col = kMissingColor;
      if (!std::isnan(v)) col = categorical ? h.categories[std::size_t(v)].color : viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
      c.fill_rect(l.left + q * cw, l.top + r * ch, cw - gap, ch - gap, col);
      if (std::isnan(v)) hatch(c, l.left + q * cw, l.top + r * ch, cw - gap, ch - gap);
    }
  for (int r = 0; r < h.rows; r += row_skip) {
    const std::string s = label_of(h.row_labels, r);
    c.text(l.left - 8 - text_width(s), l.top + r * ch + (ch - text_height()) / 2, s, kTextColor);
  }
  for (int q = 0; q < h.cols; q += col_skip) {
    const std::string s = label_of(h.col_labels, q);
    const int cx = l.left + q * cw + cw / 2;
    c.fill_rect(cx, l.bottom, 1, 4, kAxisColor);
    c.text(cx - text_width(s) / 2, l.bottom + 6, s, kTextColor);
  }
  c.text((l.left + l.right - text_width(h.x_label)) / 2, height - 12 - text_height(), h.x_label, kTextColor);
  c.text_up(12, (l.top + l.bottom - text_width(h.y_label)) / 2, h.y_label, kTextColor);

  const int lx = l.right + 2 * kPad;
  int ly = l.top;
  if (!categorical) {  // color bar: lo at the bottom, hi at the top
    c.text(lx, l.top - text_height() - 8, h.value_label, kTextColor);
    const int bar_h = std::max(l.bottom - l.top - (any_missing ? kSwatch + 12 : 0), 20);
    for (int y = 0; y < bar_h; ++y) c.fill_rect(lx, ly + bar_h - 1 - y, kBarW, 1, viridis(double(y) / (bar_h - 1)));
    c.outline_rect(lx - 1, ly - 1, kBarW + 2, bar_h + 2, kAxisColor);
    for (std::size_t i = 0; i < bar.ticks.size(); ++i) {
      const int y = ly + bar_h - 1 - int(std::lround((bar.ticks[i] - lo) / (hi > lo ? hi - lo : 1) * (bar_h - 1)));
      c.fill_rect(lx + kBarW, y, 4, 1, kAxisColor);
      c.text(lx + kBarW + 8, y - text_height() / 2, bar.labels[i], kTextColor);
    }
    ly += bar_h + 12;
  }
  for (const auto& s : swatches) {
    c.fill_rect(lx, ly, kSwatch, kSwatch, s.second);
    if (any_missing && &s == &swatches.back()) hatch(c, lx, ly, kSwatch, kSwatch);
    c.outline_rect(lx, ly, kSwatch, kSwatch, {120, 120, 120});
    c.text(lx + kSwatch + 8, ly + (kSwatch - text_height()) / 2, s.first, kTextColor);
    ly += kSwatch + 8;
  }
  if (layout) *layout = l;
  return c.take();
}

}  // namespace sixbit::plot
