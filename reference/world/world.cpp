// sixbit/reference/world/world.cpp: see world.hpp. experiments/world.py mirrors every formula here, operation for
// operation in double (the build uses -ffp-contract=off, so no fused multiply-adds change a bit).
#include "reference/world/world.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "common/check.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::world {

namespace {
constexpr double kPi = 3.141592653589793;
constexpr int kSupersample = 4;  // 4 x 4 coverage samples per pixel at offsets (i + 0.5) / 4
constexpr double kRadiusMin = 3.5, kRadiusRange = 1.5;  // equal-area radius in [3.5, 5.0) pixels
constexpr const char* kGrammar = "a COLOR SHAPE moving DIRECTION SPEED on a BACKGROUND background";

template <typename Table, typename Name>
int find_word(const Table& table, const std::string& word, const std::string& text, const char* slot, Name name) {
  for (size_t i = 0; i < table.size(); ++i)
    if (word == name(table[i])) return int(i);
  std::string allowed;
  for (size_t i = 0; i < table.size(); ++i) allowed += (i ? ", " : "") + std::string(name(table[i]));
  SIXBIT_CHECK(false, "prompt '", text, "': '", word, "' is not a ", slot, " (one of: ", allowed, ")");
  return -1;
}

// The k-th (1-based) draw of the splitmix64 stream at `state`, as a double in [0, 1): (z >> 11) * 2^-53.
double uniform(uint64_t state, int k) {
  uint64_t s = state, z = 0;
  for (int i = 0; i < k; ++i) z = model::splitmix64(s);
  return double(z >> 11) * 0x1p-53;
}

double reflect(double p, double lo, double hi) {
  const double span = hi - lo;
  double u = std::fmod(p - lo, 2.0 * span);
  if (u < 0.0) u += 2.0 * span;
  if (u > span) u = 2.0 * span - u;
  return lo + u;
}

bool inside(const Object& o, double dx, double dy) {
  switch (o.shape) {
    case ShapeKind::kCircle: return dx * dx + dy * dy <= o.radius * o.radius;
    case ShapeKind::kSquare: return std::abs(dx) <= o.half_extent && std::abs(dy) <= o.half_extent;
    case ShapeKind::kTriangle:  // apex up: width grows from 0 at dy = -e to 2e at dy = +e
      return dy >= -o.half_extent && dy <= o.half_extent && 2.0 * std::abs(dx) <= dy + o.half_extent;
  }
  return false;
}
}  // namespace

std::string prompt_text(const Attributes& a) {
  SIXBIT_CHECK(a.color >= 0 && a.color < int(kColors.size()) && a.shape >= 0 && a.shape < int(kShapes.size()) &&
                   a.direction >= 0 && a.direction < int(kDirections.size()) && a.speed >= 0 &&
                   a.speed < int(kSpeeds.size()) && a.background >= 0 && a.background < int(kBackgrounds.size()),
               "world attributes out of range");
  std::ostringstream s;
  s << "a " << kColors[a.color].name << ' ' << kShapes[a.shape] << " moving " << kDirections[a.direction].name << ' '
    << kSpeeds[a.speed].name << " on a " << kBackgrounds[a.background].name << " background";
  return s.str();
}

Attributes parse_prompt(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  std::istringstream in(lower);
  std::vector<std::string> w;
  for (std::string word; in >> word;) w.push_back(word);
  const bool shape_ok = w.size() == 10 && w[0] == "a" && w[3] == "moving" && w[6] == "on" && w[7] == "a" &&
                        w[9] == "background";
  SIXBIT_CHECK(shape_ok, "prompt '", text, "' does not follow the grammar '", kGrammar, "'");
  auto name_of = [](const auto& e) { return e.name; };
  Attributes a;
  a.color = find_word(kColors, w[1], text, "COLOR", name_of);
  a.shape = find_word(kShapes, w[2], text, "SHAPE", [](const char* s) { return s; });
  a.direction = find_word(kDirections, w[4], text, "DIRECTION", name_of);
  a.speed = find_word(kSpeeds, w[5], text, "SPEED", name_of);
  a.background = find_word(kBackgrounds, w[8], text, "BACKGROUND", name_of);
  return a;
}

int prompt_id(const Attributes& a) {
  return (((a.color * 3 + a.shape) * 4 + a.direction) * 2 + a.speed) * 2 + a.background;
}

std::vector<Attributes> all_prompts() {
  std::vector<Attributes> out;
  for (int c = 0; c < 6; ++c)
    for (int s = 0; s < 3; ++s)
      for (int d = 0; d < 4; ++d)
        for (int v = 0; v < 2; ++v)
          for (int b = 0; b < 2; ++b) out.push_back({c, s, d, v, b});
  return out;
}

bool is_eval_prompt(const Attributes& a) {
  return (a.color + 2 * a.shape + a.direction + 3 * a.speed + 5 * a.background) % 6 == 0;
}

std::vector<Attributes> train_prompts() {
  std::vector<Attributes> out;
  for (const Attributes& a : all_prompts())
    if (!is_eval_prompt(a)) out.push_back(a);
  return out;
}

std::vector<Attributes> eval_prompts() {
  std::vector<Attributes> out;
  for (const Attributes& a : all_prompts())
    if (is_eval_prompt(a)) out.push_back(a);
  return out;
}

std::vector<std::string> vocabulary() {
  std::vector<std::string> v = {"<empty>", "a", "moving", "on", "background"};
  for (const auto& c : kColors) v.push_back(c.name);
  for (const auto* s : kShapes) v.push_back(s);
  for (const auto& d : kDirections) v.push_back(d.name);
  for (const auto& s : kSpeeds) v.push_back(s.name);
  for (const auto& b : kBackgrounds) v.push_back(b.name);
  return v;
}

double half_extent(ShapeKind shape, double r) {
  switch (shape) {
    case ShapeKind::kCircle: return r;
    case ShapeKind::kSquare: return r * std::sqrt(kPi) / 2.0;  // side r sqrt(pi): area pi r^2
    case ShapeKind::kTriangle: return r * std::sqrt(kPi / 2.0);  // base = height = 2e: area 2 e^2 = pi r^2
  }
  return r;
}

Scene make_scene(const Attributes& a, uint64_t seed) {
  prompt_text(a);  // range check
  const uint64_t state = seed ^ model::fnv1a64("world");
  Scene sc;
  sc.background = kBackgrounds[a.background].rgb;
  Object o;
  o.shape = ShapeKind(a.shape);
  o.rgb = kColors[a.color].rgb;
  o.radius = kRadiusMin + kRadiusRange * uniform(state, 1);
  o.half_extent = half_extent(o.shape, o.radius);
  const double speed = kSpeeds[a.speed].pixels_per_frame, travel = speed * kMonotoneFrames, e = o.half_extent;
  const int dx = kDirections[a.direction].dx, dy = kDirections[a.direction].dy;
  const double lo_x = e, hi_x = sc.width - e, lo_y = e, hi_y = sc.height - e;
  const double u_along = uniform(state, 2), u_across = uniform(state, 3);
  // Along the motion: start far enough from the wall ahead that frames 0..kMonotoneFrames do not bounce.
  if (dx != 0) {
    o.x0 = dx > 0 ? lo_x + u_along * (hi_x - travel - lo_x) : hi_x - u_along * (hi_x - travel - lo_x);
    o.y0 = lo_y + u_across * (hi_y - lo_y);
  } else {
    o.y0 = dy > 0 ? lo_y + u_along * (hi_y - travel - lo_y) : hi_y - u_along * (hi_y - travel - lo_y);
    o.x0 = lo_x + u_across * (hi_x - lo_x);
  }
  o.vx = dx * speed;
  o.vy = dy * speed;
  sc.objects.push_back(o);
  return sc;
}

std::array<double, 2> object_center(const Object& o, int f, int height, int width) {
  return {reflect(o.x0 + o.vx * f, o.half_extent, width - o.half_extent),
          reflect(o.y0 + o.vy * f, o.half_extent, height - o.half_extent)};
}

std::vector<uint8_t> render_rgb8(const Scene& s) {
  SIXBIT_CHECK(s.frames > 0 && s.height > 0 && s.width > 0 && s.frames <= 4096 && s.height <= 4096 && s.width <= 4096,
               "world scene: bad size ", s.frames, "x", s.height, "x", s.width);
  const size_t plane = size_t(s.height) * s.width;
  std::vector<uint8_t> out(size_t(s.frames) * plane * 3);
  std::vector<double> img(plane * 3), cov(plane);
  const int n = kSupersample;
  for (int f = 0; f < s.frames; ++f) {
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < 3; ++c) img[p * 3 + c] = s.background[c];
    for (const Object& o : s.objects) {
      const auto [cx, cy] = object_center(o, f, s.height, s.width);
      for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x) {
          int count = 0;
          for (int j = 0; j < n; ++j)
            for (int i = 0; i < n; ++i) {
              const double sx = double(x) + (i + 0.5) / n, sy = double(y) + (j + 0.5) / n;
              count += inside(o, sx - cx, sy - cy);
            }
          cov[size_t(y) * s.width + x] = double(count) / double(n * n);
        }
      for (size_t p = 0; p < plane; ++p)
        for (int c = 0; c < 3; ++c) img[p * 3 + c] = img[p * 3 + c] * (1.0 - cov[p]) + o.rgb[c] * cov[p];
    }
    for (size_t k = 0; k < plane * 3; ++k) out[size_t(f) * plane * 3 + k] = uint8_t(std::floor(img[k] * 255.0 + 0.5));
  }
  return out;
}

metrics::Video render_video(const Scene& s) {
  const std::vector<uint8_t> bytes = render_rgb8(s);
  metrics::Video v(s.frames, s.height, s.width);
  for (size_t i = 0; i < bytes.size(); ++i) v.rgb[i] = float(bytes[i]) / 255.0f;
  return v;
}

metrics::Video render_prompt(const Attributes& a, uint64_t seed) { return render_video(make_scene(a, seed)); }

}  // namespace sixbit::world
