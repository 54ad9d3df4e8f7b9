// sixbit/harness/plot/canvas.cpp: see canvas.hpp.
#include "harness/plot/canvas.hpp"

#include <cstdlib>

#include "common/check.hpp"
#include "harness/plot/bitmap_font.hpp"

namespace sixbit::plot {

int text_width(const std::string& s, int scale) {
  return s.empty() ? 0 : (int(s.size()) * kAdvance - 1) * scale;  // no spacing column after the last glyph
}
int text_height(int scale) { return kGlyphH * scale; }

Canvas::Canvas(int width, int height, Color background) {
  SIXBIT_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, "plot: canvas ", width, "x", height,
               " outside 1..16384");
  img_.width = width;
  img_.height = height;
  img_.rgb.resize(std::size_t(width) * height * 3);
  for (std::size_t i = 0; i < img_.rgb.size(); i += 3) {
    img_.rgb[i] = background[0];
    img_.rgb[i + 1] = background[1];
    img_.rgb[i + 2] = background[2];
  }
}

void Canvas::set(int x, int y, Color c) {
  if (x < 0 || y < 0 || x >= img_.width || y >= img_.height) return;
  if (clipped_ && (x < clip_[0] || y < clip_[1] || x >= clip_[2] || y >= clip_[3])) return;
  uint8_t* p = &img_.rgb[(std::size_t(y) * img_.width + x) * 3];
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

void Canvas::fill_rect(int x, int y, int w, int h, Color c) {
  for (int j = y; j < y + h; ++j)
    for (int i = x; i < x + w; ++i) set(i, j, c);
}

void Canvas::outline_rect(int x, int y, int w, int h, Color c) {
  fill_rect(x, y, w, 1, c);
  fill_rect(x, y + h - 1, w, 1, c);
  fill_rect(x, y, 1, h, c);
  fill_rect(x + w - 1, y, 1, h, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Color c, int thickness) {
  // Bresenham over the integer endpoints; each step stamps a thickness x thickness square centred on the point.
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  const int lo = -(thickness - 1) / 2, hi = thickness / 2;
  int err = dx + dy;
  for (;;) {
    for (int j = lo; j <= hi; ++j)
      for (int i = lo; i <= hi; ++i) set(x0 + i, y0 + j, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void Canvas::disc(int cx, int cy, int radius, Color c) {
  for (int j = -radius; j <= radius; ++j)
    for (int i = -radius; i <= radius; ++i)
      if (i * i + j * j <= radius * radius + radius) set(cx + i, cy + j, c);  // +r: rounder small discs
}

void Canvas::text(int x, int y, const std::string& s, Color c, int scale) {
  for (std::size_t k = 0; k < s.size(); ++k) {
    const uint8_t* rows = glyph_rows(s[k]);
    const int gx = x + int(k) * kAdvance * scale;
    for (int r = 0; r < kGlyphH; ++r)
      for (int col = 0; col < kGlyphW; ++col)
        if (rows[r] & (1u << (kGlyphW - 1 - col))) fill_rect(gx + col * scale, y + r * scale, scale, scale, c);
  }
}

void Canvas::text_up(int x, int y, const std::string& s, Color c, int scale) {
  // Glyph pixel (col, row) of character k goes to (x + row, y + W - 1 - (k * advance + col)) in font pixels,
  // W the text width: the first character ends up at the bottom.
  const int w = text_width(s, 1);
  for (std::size_t k = 0; k < s.size(); ++k) {
    const uint8_t* rows = glyph_rows(s[k]);
    for (int r = 0; r < kGlyphH; ++r)
      for (int col = 0; col < kGlyphW; ++col)
        if (rows[r] & (1u << (kGlyphW - 1 - col))) {
          const int u = int(k) * kAdvance + col;
          fill_rect(x + r * scale, y + (w - 1 - u) * scale, scale, scale, c);
        }
  }
}

}  // namespace sixbit::plot
