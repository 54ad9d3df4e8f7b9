// sixbit/metrics/world_detectors.cpp: see world_detectors.hpp. Thresholds are derived from the world's geometry
// (reference/world/palette.hpp, world.cpp) and written next to each constant.
#include "metrics/world_detectors.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/check.hpp"

namespace sixbit::metrics {

namespace {
// A pixel is an object candidate when its RGB distance from the background exceeds this. Every palette color is
// >= 0.70 from both backgrounds (tested in world_render_test), so pixels of coverage >= 0.36 qualify, and mild noise
// (sigma 0.05 per channel: distance ~0.09) does not.
constexpr double kCandidateDistance = 0.25;
// Below this object/background contrast nothing is distinguishable (3.5x under the palette's minimum).
constexpr double kMinContrast = 0.2;
constexpr int kMinMaskPixels = 3;  // the smallest object (r = 3.5) covers ~38 pixels; 3 is a speck
// Shape thresholds on the median fill ratio: square 1 (its mask is a full rectangle), circle pi/4 = 0.785,
// triangle 1/2. On 1,440 clean renders (world_detectors_test) the medians lie in: square [0.969, 1], circle
// [0.750, 0.870], triangle [0.542, 0.636]; cut halfway between the neighbouring ranges.
constexpr double kSquareFill = 0.92, kTriangleFill = 0.69;
// Speeds are 0.5 and 1.5 px/frame: cut at 1.0; slower than 0.15 px/frame (1.2 px over the fit window) is no motion.
constexpr double kQuickSpeed = 1.0, kMinSpeed = 0.15;

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(m), v.end());
  double hi = v[m];
  if (v.size() % 2) return hi;
  return 0.5 * (hi + *std::max_element(v.begin(), v.begin() + ptrdiff_t(m)));
}

double dist(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  double s = 0;
  for (int c = 0; c < 3; ++c) s += (a[c] - b[c]) * (a[c] - b[c]);
  return std::sqrt(s);
}

template <typename Table>
int nearest(const Table& table, const std::array<double, 3>& rgb) {
  int best = 0;
  for (int i = 1; i < int(table.size()); ++i)
    if (dist(table[i].rgb, rgb) < dist(table[best].rgb, rgb)) best = i;
  return best;
}
}  // namespace

WorldDetection detect_world_object(const Video& v) {
  SIXBIT_CHECK(v.frames > 0 && v.height >= 3 && v.width >= 3 && v.rgb.size() == size_t(v.frames) * v.height * v.width * 3,
               "detect_world_object: malformed video ", v.frames, "x", v.height, "x", v.width);
  for (float x : v.rgb) SIXBIT_CHECK(std::isfinite(x), "detect_world_object: video has a non-finite value");
  auto px = [&](int f, int y, int x) {
    return std::array<double, 3>{v.at(f, y, x, 0), v.at(f, y, x, 1), v.at(f, y, x, 2)};
  };
  WorldDetection d;
  // Background: median of the border ring over all frames (the object touches the border in few frames at most).
  std::array<std::vector<double>, 3> ring;
  for (int f = 0; f < v.frames; ++f)
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x)
        if (y == 0 || x == 0 || y == v.height - 1 || x == v.width - 1)
          for (int c = 0; c < 3; ++c) ring[c].push_back(v.at(f, y, x, c));
  for (int c = 0; c < 3; ++c) d.background_rgb[c] = median(ring[c]);
  d.background = nearest(world::kBackgrounds, d.background_rgb);

  // Object color: median of the core of the far-from-background pixels.
  std::vector<double> far;
  for (int f = 0; f < v.frames; ++f)
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x) {
        const double e = dist(px(f, y, x), d.background_rgb);
        if (e > kCandidateDistance) far.push_back(e);
      }
  if (far.size() < size_t(kMinMaskPixels)) return d;
  std::vector<double> sorted = far;
  std::sort(sorted.begin(), sorted.end());
  const double core = 0.8 * sorted[size_t(0.95 * double(sorted.size() - 1))];
  std::array<std::vector<double>, 3> obj;
  for (int f = 0; f < v.frames; ++f)
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x) {
        const auto p = px(f, y, x);
        if (dist(p, d.background_rgb) >= core && dist(p, d.background_rgb) > kCandidateDistance)
          for (int c = 0; c < 3; ++c) obj[c].push_back(p[c]);
      }
  for (int c = 0; c < 3; ++c) d.object_rgb[c] = median(obj[c]);
  std::array<double, 3> axis;
  double axis2 = 0;
  for (int c = 0; c < 3; ++c) axis[c] = d.object_rgb[c] - d.background_rgb[c], axis2 += axis[c] * axis[c];
  if (std::sqrt(axis2) < kMinContrast) return d;

  // Per frame: coverage alpha, mask alpha >= 0.5, bounding box, fill ratio, centroid.
  std::vector<double> fills, heights, cx(v.frames, NAN), cy(v.frames, NAN);
  for (int f = 0; f < v.frames; ++f) {
    int count = 0, top = v.height, bottom = -1, left = v.width, right = -1;
    double wsum = 0, wx = 0, wy = 0, my = 0;
    for (int y = 0; y < v.height; ++y)
      for (int x = 0; x < v.width; ++x) {
        const auto p = px(f, y, x);
        double a = 0;
        for (int c = 0; c < 3; ++c) a += (p[c] - d.background_rgb[c]) * axis[c];
        a = std::clamp(a / axis2, 0.0, 1.0);
        if (a >= 0.25) wsum += a, wx += a * (x + 0.5), wy += a * (y + 0.5);
        if (a < 0.5) continue;
        ++count, my += y + 0.5;
        top = std::min(top, y), bottom = std::max(bottom, y), left = std::min(left, x), right = std::max(right, x);
      }
    if (count < kMinMaskPixels) continue;
    ++d.frames_found;
    const double bh = bottom - top + 1, bw = right - left + 1;
    fills.push_back(count / (bh * bw));
    heights.push_back((my / count - top) / bh);
    cx[f] = wx / wsum, cy[f] = wy / wsum;
  }
  if (2 * d.frames_found < v.frames) return d;
  d.found = true;
  d.color = nearest(world::kColors, d.object_rgb);
  d.fill_ratio = median(fills);
  d.centroid_height = median(heights);
  d.shape = d.fill_ratio >= kSquareFill ? 1 : d.fill_ratio < kTriangleFill ? 2 : 0;

  // Motion: least squares over the bounce-free frames 0..kMonotoneFrames (at least 4 with an object).
  double n = 0, sf = 0, sff = 0, sx = 0, sy = 0, sfx = 0, sfy = 0;
  for (int f = 0; f <= std::min(8, v.frames - 1); ++f) {
    if (std::isnan(cx[f])) continue;
    n += 1, sf += f, sff += double(f) * f, sx += cx[f], sy += cy[f], sfx += f * cx[f], sfy += f * cy[f];
  }
  if (n < 4) return d;
  const double den = n * sff - sf * sf;
  d.vx = (n * sfx - sf * sx) / den;
  d.vy = (n * sfy - sf * sy) / den;
  const bool horizontal = std::fabs(d.vx) >= std::fabs(d.vy);
  const double along = horizontal ? d.vx : d.vy;
  if (std::fabs(along) < kMinSpeed) return d;
  d.direction = horizontal ? (along < 0 ? 0 : 1) : (along < 0 ? 2 : 3);
  d.speed = std::fabs(along) < kQuickSpeed ? 0 : 1;
  return d;
}

std::string WorldDetection::describe() const {
  auto name = [](int i, auto get) { return i < 0 ? std::string("?") : std::string(get(i)); };
  return name(color, [](int i) { return world::kColors[i].name; }) + " " +
         name(shape, [](int i) { return world::kShapes[i]; }) + " moving " +
         name(direction, [](int i) { return world::kDirections[i].name; }) + " " +
         name(speed, [](int i) { return world::kSpeeds[i].name; }) + " on a " +
         name(background, [](int i) { return world::kBackgrounds[i].name; }) + " background";
}

AdherenceScore score_adherence(const WorldDetection& d, const world::Attributes& p) {
  return AdherenceScore{d.color == p.color, d.shape == p.shape, d.direction == p.direction, d.speed == p.speed,
                        d.background == p.background};
}

}  // namespace sixbit::metrics
