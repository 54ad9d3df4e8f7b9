// sixbit/harness/plot/canvas.hpp: integer drawing on an io::RgbImage for the plots: rectangles, thick lines
// (Bresenham), discs, text in the bitmap font (horizontal, or rotated to read bottom to top), an optional clip
// rectangle. No anti-aliasing, no floating point after the caller's rounding: bytes are reproducible.
#pragma once

#include <string>

#include "harness/plot/plot.hpp"

namespace sixbit::plot {

constexpr Color kWhite = {255, 255, 255}, kBlack = {0, 0, 0}, kAxisColor = {40, 40, 40},
                kGridColor = {228, 228, 228}, kTextColor = {20, 20, 20};
constexpr int kFontScale = 2;  // 5x8 glyphs drawn at 10x16 pixels: readable at a glance

int text_width(const std::string& s, int scale = kFontScale);
int text_height(int scale = kFontScale);

class Canvas {
 public:
  Canvas(int width, int height, Color background);
  int width() const { return img_.width; }
  int height() const { return img_.height; }
  io::RgbImage take() { return std::move(img_); }

  // Drawing outside the image, or outside the clip rectangle when one is set, is silently dropped.
  void set_clip(int x0, int y0, int x1, int y1) { clip_ = {x0, y0, x1, y1}, clipped_ = true; }
  void clear_clip() { clipped_ = false; }
  void set(int x, int y, Color c);
  void fill_rect(int x, int y, int w, int h, Color c);
  void outline_rect(int x, int y, int w, int h, Color c);
  void line(int x0, int y0, int x1, int y1, Color c, int thickness = 1);
  void disc(int cx, int cy, int radius, Color c);
  // (x, y) is the top-left corner of the text box.
  void text(int x, int y, const std::string& s, Color c, int scale = kFontScale);
  // Rotated a quarter turn counter-clockwise (reads bottom to top); (x, y) is the box's top-left corner, the box is
  // text_height wide and text_width tall.
  void text_up(int x, int y, const std::string& s, Color c, int scale = kFontScale);

 private:
  io::RgbImage img_;
  std::array<int, 4> clip_{};
  bool clipped_ = false;
};

}  // namespace sixbit::plot
