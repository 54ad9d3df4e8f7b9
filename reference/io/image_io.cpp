// sixbit/reference/io/image_io.cpp: see image_io.hpp. PNG after the PNG specification (W3C, 2nd edition),
// GIF after the GIF89a specification; the compressors are in zlib_deflate.cpp and gif_encode.cpp.
#include "reference/io/image_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/check.hpp"
#include "reference/io/gif_encode.hpp"
#include "reference/io/zlib_deflate.hpp"

namespace sixbit::io {
namespace {

void check_image(const RgbImage& img, const char* what) {
  SIXBIT_CHECK(img.width > 0 && img.height > 0, what, ": empty image (", img.width, "x", img.height, ")");
  SIXBIT_CHECK(img.rgb.size() == std::size_t(img.width) * std::size_t(img.height) * 3, what, ": ", img.rgb.size(),
               " bytes for a ", img.width, "x", img.height, " RGB image (expected ",
               std::size_t(img.width) * std::size_t(img.height) * 3, ")");
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}
void put_le16(std::vector<uint8_t>& out, int v) {
  out.push_back(uint8_t(v & 0xFF));
  out.push_back(uint8_t((v >> 8) & 0xFF));
}

// A PNG chunk: length, type, data, CRC-32 over type and data (PNG spec 5.3).
void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_be32(out, uint32_t(data.size()));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, crc32(out.data() + type_at, out.size() - type_at));
}

int paeth(int a, int b, int c) {  // PNG spec 9.4
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Scanlines, each led by its filter type. Per row the filter with the smallest sum of |byte as int8| wins (the
// heuristic PNG spec 12.8 recommends), ties to the lower type: deterministic, and good on flat plot areas.
std::vector<uint8_t> filtered_scanlines(const RgbImage& img) {
  const std::size_t stride = std::size_t(img.width) * 3;
  std::vector<uint8_t> out;
  out.reserve((stride + 1) * img.height);
  std::vector<uint8_t> zero(stride, 0), cand[5];
  for (auto& c : cand) c.resize(stride);
  for (int y = 0; y < img.height; ++y) {
    const uint8_t* row = img.rgb.data() + std::size_t(y) * stride;
    const uint8_t* up = y > 0 ? row - stride : zero.data();
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? row[i - 3] : 0, b = up[i], c = i >= 3 ? up[i - 3] : 0;
      cand[0][i] = row[i];
      cand[1][i] = uint8_t(row[i] - a);
      cand[2][i] = uint8_t(row[i] - b);
      cand[3][i] = uint8_t(row[i] - (a + b) / 2);
      cand[4][i] = uint8_t(row[i] - paeth(a, b, c));
    }
    int best = 0;
    uint64_t best_cost = 0;
    for (int f = 0; f < 5; ++f) {
      uint64_t cost = 0;
      for (uint8_t v : cand[f]) cost += uint64_t(std::abs(int(int8_t(v))));
      if (f == 0 || cost < best_cost) {
        best = f;
        best_cost = cost;
      }
    }
    out.push_back(uint8_t(best));
    out.insert(out.end(), cand[best].begin(), cand[best].end());
  }
  return out;
}

void refuse_existing(const std::string& path, bool overwrite) {
  SIXBIT_CHECK(!path.empty(), "write: empty output path");
  SIXBIT_CHECK(overwrite || !std::filesystem::exists(path), path,
               ": already exists; refusing to overwrite (pass --overwrite to replace it)");
}

}  // namespace

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool overwrite) {
  refuse_existing(path, overwrite);
  // "x" (C11 exclusive create) closes the window between the check above and the open.
  FILE* f = std::fopen(path.c_str(), overwrite ? "wb" : "wbx");
  if (!f) {
    const int err = errno;
    SIXBIT_CHECK(err != EEXIST, path, ": already exists; refusing to overwrite (pass --overwrite to replace it)");
    SIXBIT_CHECK(false, path, ": cannot open for writing: ", std::strerror(err));
  }
  errno = 0;
  const std::size_t written = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  int write_err = errno;
  const bool closed = std::fclose(f) == 0;  // a buffered write's failure (ENOSPC) surfaces here
  if (write_err == 0) write_err = errno;
  if (written != bytes.size() || !closed) {
    // Never leave a truncated image behind; only a regular file is removed (never a device such as /dev/full).
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) std::filesystem::remove(path, ec);
    SIXBIT_CHECK(false, path, ": write failed (", bytes.size(), " bytes): ", std::strerror(write_err));
  }
}

std::vector<uint8_t> encode_png(const RgbImage& img) {
  check_image(img, "PNG");
  SIXBIT_CHECK(img.width <= 0x7FFFFFFF && img.height <= 0x7FFFFFFF, "PNG: size too large");
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, uint32_t(img.width));
  put_be32(ihdr, uint32_t(img.height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, color type 2 (RGB), deflate, adaptive filters, no interlace
  put_chunk(png, "IHDR", ihdr);
  const std::vector<uint8_t> raw = filtered_scanlines(img);
  put_chunk(png, "IDAT", zlib_compress(raw.data(), raw.size()));
  put_chunk(png, "IEND", {});
  return png;
}

std::vector<uint8_t> encode_gif(const std::vector<RgbImage>& frames, int delay_cs) {
  SIXBIT_CHECK(!frames.empty(), "GIF: no frames");
  SIXBIT_CHECK(delay_cs >= 0 && delay_cs <= 65535, "GIF: delay ", delay_cs, " cs outside [0, 65535]");
  const int w = frames[0].width, h = frames[0].height;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    check_image(frames[i], "GIF frame");
    SIXBIT_CHECK(frames[i].width == w && frames[i].height == h, "GIF: frame ", i, " is ", frames[i].width, "x",
                 frames[i].height, ", frame 0 is ", w, "x", h);
  }
  SIXBIT_CHECK(w <= 65535 && h <= 65535, "GIF: ", w, "x", h, " exceeds the format's 65535 limit");
  const GifPalette palette = build_gif_palette(frames);
  int bits = 1;  // the table holds 2^bits entries, bits in 1..8
  while ((std::size_t(1) << bits) < palette.colors.size()) ++bits;

  std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a'};
  put_le16(gif, w);
  put_le16(gif, h);
  gif.push_back(uint8_t(0x80 | 0x70 | (bits - 1)));  // global table, 8-bit color resolution, unsorted, 2^bits
  gif.push_back(0);                                   // background color index
  gif.push_back(0);                                   // no pixel aspect ratio
  for (std::size_t i = 0; i < (std::size_t(1) << bits); ++i) {
    const uint32_t c = i < palette.colors.size() ? palette.colors[i] : 0;
    gif.insert(gif.end(), {uint8_t(c >> 16), uint8_t(c >> 8), uint8_t(c)});
  }
  // NETSCAPE2.0 application extension: sub-block id 1, loop count 0 = forever.
  const uint8_t loop[] = {0x21, 0xFF, 0x0B, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0', 0x03, 0x01, 0, 0, 0};
  gif.insert(gif.end(), std::begin(loop), std::end(loop));
  const int min_code_size = std::max(2, bits);  // GIF89a appendix F: at least 2
  PaletteIndexer indexer(palette);
  for (const RgbImage& frame : frames) {
    // Graphic control extension: disposal 1 (leave in place; every frame covers the screen), no transparency.
    gif.insert(gif.end(), {0x21, 0xF9, 0x04, 0x04});
    put_le16(gif, delay_cs);
    gif.insert(gif.end(), {0x00, 0x00});
    gif.push_back(0x2C);  // image descriptor: at (0, 0), full size, no local table, not interlaced
    put_le16(gif, 0);
    put_le16(gif, 0);
    put_le16(gif, w);
    put_le16(gif, h);
    gif.push_back(0x00);
    gif.push_back(uint8_t(min_code_size));
    const std::vector<uint8_t> idx = map_to_palette(frame, indexer);
    const std::vector<uint8_t> lzw = gif_lzw_encode(idx.data(), idx.size(), min_code_size);
    for (std::size_t at = 0; at < lzw.size(); at += 255) {  // data sub-blocks of at most 255 bytes
      const std::size_t len = std::min<std::size_t>(255, lzw.size() - at);
      gif.push_back(uint8_t(len));
      gif.insert(gif.end(), lzw.begin() + std::ptrdiff_t(at), lzw.begin() + std::ptrdiff_t(at + len));
    }
    gif.push_back(0x00);  // block terminator
  }
  gif.push_back(0x3B);  // trailer
  return gif;
}

void write_png(const std::string& path, const RgbImage& img, bool overwrite) {
  refuse_existing(path, overwrite);  // before the encoding work; write_file_bytes checks again, race-free
  write_file_bytes(path, encode_png(img), overwrite);
}

void write_gif(const std::string& path, const std::vector<RgbImage>& frames, int delay_cs, bool overwrite) {
  refuse_existing(path, overwrite);
  write_file_bytes(path, encode_gif(frames, delay_cs), overwrite);
}

}  // namespace sixbit::io
