// sixbit/reference/io/image_io.hpp: 8-bit RGB images out, as PNG (one frame) and animated GIF (a video).
//
// Written here (no libpng/zlib dependency): PNG with zlib "stored" or deflate blocks and its CRC-32/Adler-32,
// GIF89a with a per-animation palette and LZW. Decoded by independent readers in tests (Pillow, from PyPI).
// Like every writer in sixbit, refuses to replace an existing file unless `overwrite` is set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sixbit::io {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3], row-major
};

void write_png(const std::string& path, const RgbImage& img, bool overwrite);
// All frames the same size; delay per frame in hundredths of a second; loops forever.
void write_gif(const std::string& path, const std::vector<RgbImage>& frames, int delay_cs, bool overwrite);

}  // namespace sixbit::io
