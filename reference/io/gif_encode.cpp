// sixbit/reference/io/gif_encode.cpp: see gif_encode.hpp.
#include "reference/io/gif_encode.hpp"

#include <algorithm>
#include <array>

#include "common/check.hpp"
#include "reference/io/image_io.hpp"

namespace sixbit::io {
namespace {

struct ColorCount {
  uint32_t color;  // 0xRRGGBB
  uint64_t count;
};

int channel(uint32_t color, int c) { return int((color >> (16 - 8 * c)) & 0xFFu); }  // c: 0 R, 1 G, 2 B

uint32_t pack(const uint8_t* p) { return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]; }

// Distinct colors of all frames with their pixel counts, sorted by color.
std::vector<ColorCount> histogram(const std::vector<RgbImage>& frames) {
  std::vector<uint32_t> all;
  std::size_t total = 0;
  for (const auto& f : frames) total += std::size_t(f.width) * f.height;
  all.reserve(total);
  for (const auto& f : frames)
    for (std::size_t i = 0; i + 2 < f.rgb.size(); i += 3) all.push_back(pack(&f.rgb[i]));
  std::sort(all.begin(), all.end());
  std::vector<ColorCount> hist;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    hist.push_back({all[i], uint64_t(j - i)});
    i = j;
  }
  return hist;
}

struct Box {
  std::size_t begin, end;  // a range of the histogram
  uint64_t pixels = 0;
  int widest = 0, range = 0;  // the channel with the largest max - min, and that range
};

Box make_box(const std::vector<ColorCount>& h, std::size_t begin, std::size_t end) {
  Box b{begin, end};
  std::array<int, 3> lo{255, 255, 255}, hi{0, 0, 0};
  for (std::size_t i = begin; i < end; ++i) {
    b.pixels += h[i].count;
    for (int c = 0; c < 3; ++c) {
      lo[c] = std::min(lo[c], channel(h[i].color, c));
      hi[c] = std::max(hi[c], channel(h[i].color, c));
    }
  }
  for (int c = 0; c < 3; ++c)
    if (hi[c] - lo[c] > b.range) {
      b.range = hi[c] - lo[c];
      b.widest = c;
    }
  return b;
}

std::vector<uint32_t> median_cut(std::vector<ColorCount> h) {
  std::vector<Box> boxes{make_box(h, 0, h.size())};
  while (boxes.size() < 256) {
    int pick = -1;
    for (int i = 0; i < int(boxes.size()); ++i) {
      const Box& b = boxes[i];
      if (b.end - b.begin < 2) continue;
      if (pick < 0 || b.range > boxes[pick].range || (b.range == boxes[pick].range && b.pixels > boxes[pick].pixels))
        pick = i;
    }
    if (pick < 0) break;
    const Box b = boxes[pick];
    const int c = b.widest;
    // Colors are distinct, so (channel, color) is a total order and the sort is deterministic.
    std::sort(h.begin() + std::ptrdiff_t(b.begin), h.begin() + std::ptrdiff_t(b.end),
              [c](const ColorCount& x, const ColorCount& y) {
                const int a = channel(x.color, c), d = channel(y.color, c);
                return a != d ? a < d : x.color < y.color;
              });
    std::size_t split = b.begin + 1;
    uint64_t cum = 0;
    for (std::size_t i = b.begin; i < b.end; ++i) {
      cum += h[i].count;
      if (2 * cum >= b.pixels) {
        split = i + 1;
        break;
      }
    }
    split = std::clamp(split, b.begin + 1, b.end - 1);  // both halves non-empty
    boxes[pick] = make_box(h, b.begin, split);
    boxes.push_back(make_box(h, split, b.end));
  }
  std::vector<uint32_t> palette;
  for (const Box& b : boxes) {
    uint32_t color = 0;
    for (int c = 0; c < 3; ++c) {
      uint64_t sum = 0;
      for (std::size_t i = b.begin; i < b.end; ++i) sum += uint64_t(channel(h[i].color, c)) * h[i].count;
      const uint64_t mean = (2 * sum + b.pixels) / (2 * b.pixels);  // round half up
      color |= uint32_t(mean) << (16 - 8 * c);
    }
    palette.push_back(color);
  }
  return palette;
}

int nearest(const std::vector<uint32_t>& palette, uint32_t color) {
  int best = 0;
  int best_d = -1;
  for (int i = 0; i < int(palette.size()); ++i) {
    int d = 0;
    for (int c = 0; c < 3; ++c) {
      const int e = channel(palette[i], c) - channel(color, c);
      d += e * e;
    }
    if (best_d < 0 || d < best_d) {  // strict: the lowest index wins ties
      best_d = d;
      best = i;
    }
  }
  return best;
}

}  // namespace

GifPalette build_gif_palette(const std::vector<RgbImage>& frames) {
  const std::vector<ColorCount> h = histogram(frames);
  SIXBIT_CHECK(!h.empty(), "GIF palette: no pixels");
  GifPalette p;
  p.exact = h.size() <= 256;
  if (p.exact) {
    for (const auto& e : h) p.colors.push_back(e.color);
  } else {
    p.colors = median_cut(h);
  }
  return p;
}

std::vector<uint8_t> map_to_palette(const RgbImage& img, const GifPalette& palette) {
  SIXBIT_CHECK(!palette.colors.empty() && palette.colors.size() <= 256, "GIF palette: ", palette.colors.size(),
               " entries");
  const std::size_t n = std::size_t(img.width) * img.height;
  SIXBIT_CHECK(img.rgb.size() == 3 * n, "GIF frame: ", img.rgb.size(), " bytes for ", img.width, "x", img.height);
  // Each distinct color of this frame is resolved once (sorted colors, then a lookup per pixel).
  std::vector<uint32_t> colors(n);
  for (std::size_t i = 0; i < n; ++i) colors[i] = pack(&img.rgb[3 * i]);
  std::vector<uint32_t> distinct = colors;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<uint8_t> index_of(distinct.size());
  for (std::size_t k = 0; k < distinct.size(); ++k) {
    if (palette.exact) {
      const auto it = std::lower_bound(palette.colors.begin(), palette.colors.end(), distinct[k]);
      SIXBIT_CHECK(it != palette.colors.end() && *it == distinct[k], "GIF palette: color ", distinct[k],
                   " missing from an exact palette");
      index_of[k] = uint8_t(it - palette.colors.begin());
    } else {
      index_of[k] = uint8_t(nearest(palette.colors, distinct[k]));
    }
  }
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = index_of[std::size_t(std::lower_bound(distinct.begin(), distinct.end(), colors[i]) - distinct.begin())];
  return out;
}

std::vector<uint8_t> gif_lzw_encode(const uint8_t* indices, std::size_t n, int min_code_size) {
  SIXBIT_CHECK(min_code_size >= 2 && min_code_size <= 8, "GIF LZW: min code size ", min_code_size);
  SIXBIT_CHECK(n > 0, "GIF LZW: no pixels");
  const int alphabet = 1 << min_code_size, clear = alphabet, eoi = clear + 1;
  constexpr int kMaxCodes = 4095;  // giflib's LZ_MAX_CODE: clear before the last 12-bit code is assigned
  std::vector<uint16_t> child(std::size_t(4096) * alphabet, 0);  // trie: child[prefix * alphabet + symbol], 0 = none
  std::vector<uint8_t> out;
  uint64_t acc = 0;
  int nacc = 0, size = min_code_size + 1, next = eoi + 1;
  auto put = [&](int code) {  // codes are packed least significant bit first
    acc |= uint64_t(code) << nacc;
    nacc += size;
    while (nacc >= 8) {
      out.push_back(uint8_t(acc));
      acc >>= 8;
      nacc -= 8;
    }
  };
  // A decoder adds one table entry per code it reads (after the first), and widens its codes when the next free
  // entry reaches 2^size; after each emitted code the encoder's `next` equals the decoder's, so it widens likewise.
  auto put_data_code = [&](int code) {
    put(code);
    if (next >= (1 << size) && size < 12) ++size;
  };
  put(clear);
  int prefix = indices[0];
  SIXBIT_CHECK(prefix < alphabet, "GIF LZW: index ", prefix, " >= ", alphabet);
  for (std::size_t i = 1; i < n; ++i) {
    const int s = indices[i];
    SIXBIT_CHECK(s < alphabet, "GIF LZW: index ", s, " >= ", alphabet);
    const uint16_t c = child[std::size_t(prefix) * alphabet + s];
    if (c != 0) {
      prefix = c;
      continue;
    }
    put_data_code(prefix);
    if (next < kMaxCodes) {
      child[std::size_t(prefix) * alphabet + s] = uint16_t(next++);
    } else {
      put(clear);
      std::fill(child.begin(), child.end(), uint16_t(0));
      size = min_code_size + 1;
      next = eoi + 1;
    }
    prefix = s;
  }
  put_data_code(prefix);
  put(eoi);
  if (nacc > 0) out.push_back(uint8_t(acc));
  return out;
}

}  // namespace sixbit::io
