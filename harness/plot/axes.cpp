// sixbit/harness/plot/axes.cpp: see axes.hpp; also the shared color scales, PlotLayout's mapping and the writer.
#include "harness/plot/axes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/check.hpp"

namespace sixbit::plot {
namespace {

constexpr int kTick = 6, kPad = 10;

// Smallest of 1, 2, 5 x 10^k that is >= raw.
double nice_step(double raw) {
  const double e = std::floor(std::log10(raw)), base = std::pow(10.0, e);
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * base >= raw * (1 - 1e-12)) return m * base;
  return 10 * base;
}

int max_label_width(const Axis& a) {
  int w = 0;
  for (const auto& s : a.labels) w = std::max(w, text_width(s));
  return w;
}

}  // namespace

Color series_color(int i) {
  // matplotlib's tab10 ("Tableau 10") cycle.
  static constexpr Color kTab10[10] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},  {214, 39, 40},
                                       {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                       {188, 189, 34}, {23, 190, 207}};
  return kTab10[((i % 10) + 10) % 10];
}

Color viridis(double t) {
  // viridis sampled at 10 evenly spaced points (#440154 ... #fde725), linearly interpolated between them.
  static constexpr Color kStops[10] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142},
                                       {38, 130, 142}, {31, 158, 137}, {53, 183, 121}, {110, 206, 88},
                                       {181, 222, 43}, {253, 231, 37}};
  if (!(t > 0)) t = 0;  // also NaN
  if (t > 1) t = 1;
  const double pos = t * 9;
  const int i = std::min(int(pos), 8);
  const double f = pos - i;
  Color c{};
  for (int k = 0; k < 3; ++k) c[k] = uint8_t(std::lround(kStops[i][k] + f * (kStops[i + 1][k] - kStops[i][k])));
  return c;
}

int PlotLayout::px(double x) const {
  return left + int(std::lround((x - x_min) / (x_max - x_min) * double(right - 1 - left)));
}

int PlotLayout::py(double y) const {
  const double v = log_y ? std::log10(y) : y;
  return bottom - 1 - int(std::lround((v - y_min) / (y_max - y_min) * double(bottom - 1 - top)));
}

void write_plot_png(const std::string& path, const io::RgbImage& image, bool overwrite) {
  io::write_png(path, image, overwrite);
}

std::string format_tick(double v, double step) {
  if (std::fabs(v) < step * 1e-9) return "0";
  const int step_exp = int(std::floor(std::log10(step) + 1e-9));
  const double mag = std::fabs(v);
  char buf[48];
  if (step_exp >= -4 && mag < 1e6) {
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -step_exp), v);
  } else {  // mantissa with as many decimals as the step needs at this magnitude, exponent without padding
    const int e = int(std::floor(std::log10(mag)));
    const int decimals = std::clamp(e - step_exp, 0, 6);
    std::snprintf(buf, sizeof buf, "%.*fe%d", decimals, v / std::pow(10.0, e), e);
  }
  return buf;
}

Axis linear_axis(double min, double max) {
  SIXBIT_CHECK(std::isfinite(min) && std::isfinite(max) && min <= max, "plot: bad axis range ", min, "..", max);
  Axis a;
  if (min == max) {
    const double d = min == 0 ? 1.0 : std::fabs(min) * 0.1;
    min -= d;
    max += d;
  }
  const double pad = 0.05 * (max - min);
  a.lo = min - pad;
  a.hi = max + pad;
  const double step = nice_step((a.hi - a.lo) / 6);
  for (double k = std::ceil(a.lo / step); k * step <= a.hi + 1e-9 * step; k += 1) {
    a.ticks.push_back(k * step);
    a.labels.push_back(format_tick(k * step, step));
  }
  return a;
}

Axis log_axis(double min, double max) {
  SIXBIT_CHECK(min > 0 && max >= min && std::isfinite(max), "plot: bad log axis range ", min, "..", max);
  Axis a;
  a.log = true;
  const double dlo = std::floor(std::log10(min)), dhi = std::max(std::ceil(std::log10(max)), dlo + 1);
  const int decades = int(dhi - dlo), every = std::max(1, (decades + 7) / 8);
  auto label = [](double v, int e) {
    char buf[24];
    if (e >= -3 && e <= 4) std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -e), v);
    else std::snprintf(buf, sizeof buf, "%ge%d", v / std::pow(10.0, e), e);
    return std::string(buf);
  };
  for (int e = int(dlo); e <= int(dhi); e += every) {
    // A tick per decade; with at most 2 decades on the axis also 2 and 5 x 10^e, so it never shows only 2 labels.
    for (int m : {1, 2, 5}) {
      if (m > 1 && (decades > 2 || e == int(dhi))) continue;
      a.ticks.push_back(e + std::log10(double(m)));
      a.labels.push_back(label(m * std::pow(10.0, e), e));
    }
  }
  // A little room beyond the outer decades so points on them are not cut in half by the frame.
  a.lo = dlo - 0.03 * decades;
  a.hi = dhi + 0.03 * decades;
  return a;
}

int legend_width(const std::vector<LegendEntry>& entries) {
  int w = 0;
  for (const auto& e : entries) w = std::max(w, text_width(e.name));
  return entries.empty() ? 0 : w + 3 * kPad + 24;
}

void draw_legend(Canvas& c, int x, int y, const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return;
  const int row = text_height() + 8, h = int(entries.size()) * row + kPad;
  c.fill_rect(x, y, legend_width(entries), h, kWhite);
  c.outline_rect(x, y, legend_width(entries), h, {170, 170, 170});
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const int cy = y + kPad / 2 + int(i) * row + row / 2;
    if (entries[i].is_line) c.line(x + kPad, cy, x + kPad + 24, cy, entries[i].color, 3);
    else c.disc(x + kPad + 12, cy, 5, entries[i].color);
    c.text(x + 2 * kPad + 24, cy - text_height() / 2, entries[i].name, kTextColor);
  }
}

int draw_titles(Canvas& c, const std::vector<std::string>& lines) {
  int y = 12;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& s = lines[i];
    const int x = (c.width() - text_width(s)) / 2;
    c.text(x, y, s, kTextColor);
    if (i == 0) c.text(x + 1, y, s, kTextColor);  // the first line bold: drawn twice, one pixel apart
    y += text_height() + 8;
  }
  return y;
}

PlotLayout axis_layout(int width, int height, int title_lines, const Axis& x, const Axis& y, int legend_w) {
  PlotLayout l;
  l.top = 12 + title_lines * (text_height() + 8) + 8;
  l.left = 12 + text_height() + kPad + max_label_width(y) + kTick + 4;
  l.bottom = height - (12 + text_height() + kPad + text_height() + kTick + 4);
  l.right = width - (16 + (legend_w > 0 ? legend_w + kPad : 0));
  // Half the last x tick label may stick out past the plot area; keep it on the canvas.
  if (!x.labels.empty()) l.right = std::min(l.right, width - 4 - text_width(x.labels.back()) / 2);
  SIXBIT_CHECK(l.right - l.left >= 50 && l.bottom - l.top >= 50, "plot: ", width, "x", height,
               " leaves no room for the plot area");
  l.x_min = x.lo;
  l.x_max = x.hi;
  l.y_min = y.lo;
  l.y_max = y.hi;
  l.log_y = y.log;
  return l;
}

void draw_axes(Canvas& c, const PlotLayout& l, const Axis& x, const Axis& y, const std::string& x_label,
               const std::string& y_label) {
  // Tick positions are in axis units (log10 on a log axis), so map them without PlotLayout::py's log.
  auto xpix = [&](double v) { return l.px(v); };
  auto ypix = [&](double v) {
    return l.bottom - 1 - int(std::lround((v - l.y_min) / (l.y_max - l.y_min) * double(l.bottom - 1 - l.top)));
  };
  for (double t : x.ticks) c.fill_rect(xpix(t), l.top, 1, l.bottom - l.top, kGridColor);
  for (double t : y.ticks) c.fill_rect(l.left, ypix(t), l.right - l.left, 1, kGridColor);
  c.outline_rect(l.left - 1, l.top - 1, l.right - l.left + 2, l.bottom - l.top + 2, kAxisColor);
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const int px = xpix(x.ticks[i]);
    c.fill_rect(px, l.bottom + 1, 1, kTick, kAxisColor);
    c.text(px - text_width(x.labels[i]) / 2, l.bottom + kTick + 4, x.labels[i], kTextColor);
  }
  if (y.log)  // minor ticks at 2..9 x 10^e
    for (int e = int(std::floor(y.lo)); e < int(std::ceil(y.hi)); ++e)
      for (int m = 2; m <= 9; ++m) {
        const double v = e + std::log10(double(m));
        if (v >= y.lo && v <= y.hi) c.fill_rect(l.left - 1 - kTick / 2, ypix(v), kTick / 2, 1, kAxisColor);
      }
  for (std::size_t i = 0; i < y.ticks.size(); ++i) {
    const int py = ypix(y.ticks[i]);
    c.fill_rect(l.left - 1 - kTick, py, kTick, 1, kAxisColor);
    c.text(l.left - kTick - 4 - text_width(y.labels[i]), py - text_height() / 2, y.labels[i], kTextColor);
  }
  c.text((l.left + l.right - text_width(x_label)) / 2, c.height() - 12 - text_height(), x_label, kTextColor);
  c.text_up(12, (l.top + l.bottom - text_width(y_label)) / 2, y_label, kTextColor);
}

}  // namespace sixbit::plot
