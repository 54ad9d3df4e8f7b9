// sixbit/reference/io/image_io.hpp: 8-bit RGB images out, as PNG (one frame) and animated GIF (a video).
//
// Written here (no libpng/zlib dependency): PNG with one fixed-Huffman deflate block (zlib_deflate.hpp: CRC-32,
// Adler-32) and per-row adaptive filters; GIF89a with one global palette for the whole animation and LZW
// (gif_encode.hpp: exact when the frames hold <= 256 distinct colors, median cut otherwise). Decoded by an
// independent reader in tests (Pillow, from PyPI: tests/oracle/media_pillow.py).
// Like every writer in sixbit, refuses to replace an existing file unless `overwrite` is set; errors (bad size,
// unwritable path, existing file) throw sixbit::Error naming the path, and a failed write leaves no file behind.
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

// The file bytes write_png / write_gif produce (deterministic: a function of the pixels only).
std::vector<uint8_t> encode_png(const RgbImage& img);
std::vector<uint8_t> encode_gif(const std::vector<RgbImage>& frames, int delay_cs);
// Writes `bytes` to `path`: refuses an existing file unless `overwrite` (exclusive create, no race), throws
// sixbit::Error with the OS reason when the path cannot be opened or written, removes a partially written
// regular file (never a device or other special file).
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool overwrite);

}  // namespace sixbit::io
