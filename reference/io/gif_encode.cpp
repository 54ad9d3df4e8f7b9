// sixbit/reference/io/gif_encode.cpp: see gif_encode.hpp.
#include "reference/io/gif_encode.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

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

// Distinct colors of all frames with their pixel counts, sorted by color. Small inputs sort the pixels; large
// ones count into a dense 2^24 table (64 MiB, linear time). Both give the same list.
std::vector<ColorCount> histogram(const std::vector<RgbImage>& frames) {
  std::size_t total = 0;
  for (const auto& f : frames) total += f.rgb.size() / 3;
  std::vector<ColorCount> hist;
  if (total >= (std::size_t(1) << 22)) {
    SIXBIT_CHECK(total < (std::size_t(1) << 32), "GIF palette: ", total, " pixels exceed the 2^32 count limit");
    std::vector<uint32_t> counts(std::size_t(1) << 24, 0);
    for (const auto& f : frames)
      for (std::size_t i = 0; i + 2 < f.rgb.size(); i += 3) ++counts[pack(&f.rgb[i])];
    for (uint32_t c = 0; c < (1u << 24); ++c)
      if (counts[c]) hist.push_back({c, counts[c]});
    return hist;
  }
  std::vector<uint32_t> all;
  all.reserve(total);
  for (const auto& f : frames)
    for (std::size_t i = 0; i + 2 < f.rgb.size(); i += 3) all.push_back(pack(&f.rgb[i]));
  std::sort(all.begin(), all.end());
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
  int widest = 0, range = 0;  // the channel with the largest max - min (lowest channel on ties), and that range
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
      if (b.range == 0) continue;  // a single color: nothing to split
      if (pick < 0 || b.range > boxes[pick].range || (b.range == boxes[pick].range && b.pixels > boxes[pick].pixels))
        pick = i;
    }
    if (pick < 0) break;
    const Box b = boxes[pick];
    const int c = b.widest;
    // The median value m along c: the smallest value whose cumulative pixel count reaches half the box. Colors
    // with channel <= m go first (< m when that would take them all). Linear time; the order of colors inside a
    // box never matters (its min, max and sums do not depend on it).
    std::array<uint64_t, 256> per_value{};
    for (std::size_t i = b.begin; i < b.end; ++i) per_value[channel(h[i].color, c)] += h[i].count;
    int m = 0;
    for (uint64_t cum = 0; m < 256; ++m) {
      cum += per_value[m];
      if (2 * cum >= b.pixels) break;
    }
    int hi = 0;
    for (std::size_t i = b.begin; i < b.end; ++i) hi = std::max(hi, channel(h[i].color, c));
    const int limit = m < hi ? m : m - 1;  // first box: channel <= limit; both boxes non-empty since range > 0
    const auto mid = std::partition(h.begin() + std::ptrdiff_t(b.begin), h.begin() + std::ptrdiff_t(b.end),
                                    [&](const ColorCount& e) { return channel(e.color, c) <= limit; });
    const std::size_t split = std::size_t(mid - h.begin());
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

int sq_dist(uint32_t a, uint32_t b) {
  int d = 0;
  for (int c = 0; c < 3; ++c) {
    const int e = channel(a, c) - channel(b, c);
    d += e * e;
  }
  return d;
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

PaletteIndexer::PaletteIndexer(const GifPalette& palette) : palette_(palette) {
  SIXBIT_CHECK(!palette.colors.empty() && palette.colors.size() <= 256, "GIF palette: ", palette.colors.size(),
               " entries");
  if (!palette.exact) cells_.resize(std::size_t(1) << 15);
}

// The nearest entry, exactly: a color's 8x8x8 cell keeps only the entries that can be nearest to some color in it
// (those whose least distance to the cell is <= the smallest greatest distance of any entry), in palette order, so
// a scan with strict < still returns the lowest index on ties. Cells are filled when first used.
uint8_t PaletteIndexer::index(uint32_t color) {
  const auto& pal = palette_.colors;
  if (palette_.exact) {
    const auto it = std::lower_bound(pal.begin(), pal.end(), color);
    SIXBIT_CHECK(it != pal.end() && *it == color, "GIF palette: color ", color, " missing from an exact palette");
    return uint8_t(it - pal.begin());
  }
  const std::size_t cell = (color >> 9 & 0x7C00u) | (color >> 6 & 0x3E0u) | (color >> 3 & 0x1Fu);
  std::vector<uint8_t>& cand = cells_[cell];
  if (cand.empty()) {
    std::vector<int> dmin(pal.size());
    int best_max = 1 << 30;
    for (std::size_t i = 0; i < pal.size(); ++i) {
      int lo = 0, hi = 0;
      for (int c = 0; c < 3; ++c) {
        const int v = channel(pal[i], c), a = channel(color, c) & ~7, b = a + 7;
        const int near = v < a ? a - v : (v > b ? v - b : 0), far = std::max(std::abs(v - a), std::abs(v - b));
        lo += near * near;
        hi += far * far;
      }
      dmin[i] = lo;
      best_max = std::min(best_max, hi);
    }
    for (std::size_t i = 0; i < pal.size(); ++i)
      if (dmin[i] <= best_max) cand.push_back(uint8_t(i));
  }
  int best = cand[0], best_d = sq_dist(pal[cand[0]], color);
  for (std::size_t k = 1; k < cand.size(); ++k) {
    const int d = sq_dist(pal[cand[k]], color);
    if (d < best_d) {
      best_d = d;
      best = cand[k];
    }
  }
  return uint8_t(best);
}

std::vector<uint8_t> map_to_palette(const RgbImage& img, PaletteIndexer& indexer) {
  const std::size_t n = std::size_t(img.width) * img.height;
  SIXBIT_CHECK(img.rgb.size() == 3 * n, "GIF frame: ", img.rgb.size(), " bytes for ", img.width, "x", img.height);
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = indexer.index(pack(&img.rgb[3 * i]));
  return out;
}

std::vector<uint8_t> map_to_palette(const RgbImage& img, const GifPalette& palette) {
  PaletteIndexer indexer(palette);
  return map_to_palette(img, indexer);
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
