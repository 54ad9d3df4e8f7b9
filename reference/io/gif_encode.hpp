// sixbit/reference/io/gif_encode.hpp: the pieces of write_gif (image_io.hpp): one global palette for an animation
// and GIF's variable-width LZW (GIF89a specification, appendix F).
//
// Palette, deterministic, built from all frames at once so every frame shares it:
//  - at most 256 distinct colors: the palette is exactly those colors, sorted by 0xRRGGBB; the GIF is lossless.
//  - more: median cut (Heckbert 1982) over the count-weighted histogram of distinct colors. Repeatedly split the
//    box whose widest channel range is largest (ties: more pixels, then lower box index) along that channel at
//    the pixel-count median value m (colors <= m first; < m when that would take all), until 256 boxes or none
//    can split; each entry is the box's count-weighted mean, rounded half up.
//    Every pixel is then drawn as the palette entry nearest in squared RGB distance (ties: lowest index), no
//    dithering, so a decoded pixel is exactly predictable from the source and the palette.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sixbit::io {

struct RgbImage;

struct GifPalette {
  std::vector<uint32_t> colors;  // 0xRRGGBB, 1..256 entries
  bool exact = false;            // true when every source color is in the palette
};

GifPalette build_gif_palette(const std::vector<RgbImage>& frames);

// Color -> palette index (exact lookup, or the nearest entry as documented above), with a per-cell candidate
// cache so a long video costs a few distance tests per pixel. Keep one per animation.
class PaletteIndexer {
 public:
  explicit PaletteIndexer(const GifPalette& palette);
  uint8_t index(uint32_t color);  // 0xRRGGBB

 private:
  const GifPalette& palette_;
  std::vector<std::vector<uint8_t>> cells_;  // 32^3 cells of 8x8x8 colors: candidate entries, in palette order
};

// Each pixel's palette index.
std::vector<uint8_t> map_to_palette(const RgbImage& img, PaletteIndexer& indexer);
std::vector<uint8_t> map_to_palette(const RgbImage& img, const GifPalette& palette);
// GIF LZW data for `n` indices, each < 2^min_code_size, as the byte stream before it is cut into sub-blocks.
// Starts with a clear code, re-clears when the table is full (as giflib does, at 4095 codes), ends with EOI.
std::vector<uint8_t> gif_lzw_encode(const uint8_t* indices, std::size_t n, int min_code_size);

}  // namespace sixbit::io
