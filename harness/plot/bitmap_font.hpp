// sixbit/harness/plot/bitmap_font.hpp: a 5x8 bitmap font (printable ASCII 32..126), drawn here for the plots so
// they need no font library. Rows 0..6 hold capitals and digits, row 7 the descenders of g, j, p, q, y and ','.
#pragma once

#include <cstdint>

namespace sixbit::plot {

constexpr int kGlyphW = 5, kGlyphH = 8;
constexpr int kAdvance = 6;     // glyph width + 1 column of spacing, in font pixels
constexpr int kLineHeight = 10; // glyph height + 2 rows, in font pixels

// Row bits of character `ch` (bit 4 = leftmost column); characters outside 32..126 draw as '?'.
const uint8_t* glyph_rows(char ch);

}  // namespace sixbit::plot
