// sixbit/reference/io/zlib_deflate.cpp: see zlib_deflate.hpp. Section numbers are RFC 1951's.
#include "reference/io/zlib_deflate.hpp"

#include <algorithm>
#include <array>

namespace sixbit::io {
namespace {

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}

// Bits go into bytes least significant bit first (section 3.1.1).
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}
  void put(uint32_t value, int nbits) {  // value's low nbits, LSB first (header fields, extra bits)
    acc_ |= uint64_t(value) << nacc_;
    nacc_ += nbits;
    while (nacc_ >= 8) {
      out_.push_back(uint8_t(acc_));
      acc_ >>= 8;
      nacc_ -= 8;
    }
  }
  void put_code(uint32_t code, int len) {  // Huffman codes are packed starting with their MSB (section 3.1.1)
    uint32_t rev = 0;
    for (int i = 0; i < len; ++i) rev |= ((code >> i) & 1u) << (len - 1 - i);
    put(rev, len);
  }
  void flush() {
    if (nacc_ > 0) out_.push_back(uint8_t(acc_));
    acc_ = 0;
    nacc_ = 0;
  }

 private:
  std::vector<uint8_t>& out_;
  uint64_t acc_ = 0;
  int nacc_ = 0;
};

// Fixed literal/length code (section 3.2.6).
void put_litlen(BitWriter& bw, int sym) {
  if (sym < 144) bw.put_code(0x30 + sym, 8);
  else if (sym < 256) bw.put_code(0x190 + (sym - 144), 9);
  else if (sym < 280) bw.put_code(sym - 256, 7);
  else bw.put_code(0xC0 + (sym - 280), 8);
}

// Length codes 257..285 and distance codes 0..29 with their extra bits (section 3.2.5).
constexpr int kLenBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                              31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr int kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr int kDistBase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,   33,   49,   65,   97,   129,
                               193,  257,  385,  513,  769,  1025,  1537,  2049,  3073, 4097, 6145, 8193, 12289, 16385,
                               24577};
constexpr int kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

void put_match(BitWriter& bw, int len, int dist) {
  int li = 28;
  while (kLenBase[li] > len) --li;
  put_litlen(bw, 257 + li);
  bw.put(uint32_t(len - kLenBase[li]), kLenExtra[li]);
  int di = 29;
  while (kDistBase[di] > dist) --di;
  bw.put_code(uint32_t(di), 5);  // fixed distance codes: 5 bits, the code itself
  bw.put(uint32_t(dist - kDistBase[di]), kDistExtra[di]);
}

constexpr int kWindow = 32768, kMinMatch = 3, kMaxMatch = 258;
constexpr int kHashBits = 15, kMaxChain = 64;  // chain bound: speed over the last percent of ratio

}  // namespace

uint32_t crc32(const uint8_t* data, std::size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t adler32(const uint8_t* data, std::size_t n, uint32_t adler) {
  uint32_t a = adler & 0xFFFFu, b = adler >> 16;
  while (n > 0) {
    const std::size_t chunk = std::min<std::size_t>(n, 5552);  // largest run that cannot overflow 32 bits (zlib's NMAX)
    for (std::size_t i = 0; i < chunk; ++i) {
      a += data[i];
      b += a;
    }
    a %= 65521u;
    b %= 65521u;
    data += chunk;
    n -= chunk;
  }
  return (b << 16) | a;
}

std::vector<uint8_t> zlib_compress(const uint8_t* data, std::size_t n) {
  std::vector<uint8_t> out;
  out.reserve(n / 4 + 64);
  // RFC 1950 header: CM 8 (deflate), CINFO 7 (32 KiB window); FLEVEL 0; FCHECK makes (CMF*256 + FLG) % 31 == 0.
  out.push_back(0x78);
  out.push_back(0x01);
  BitWriter bw(out);
  bw.put(1, 1);  // BFINAL: the only block
  bw.put(1, 2);  // BTYPE 01: fixed Huffman codes

  std::vector<int64_t> head(std::size_t(1) << kHashBits, -1), prev(kWindow, -1);
  auto hash_at = [&](std::size_t i) {
    const uint32_t v = uint32_t(data[i]) | uint32_t(data[i + 1]) << 8 | uint32_t(data[i + 2]) << 16;
    return (v * 2654435761u) >> (32 - kHashBits);
  };
  auto insert = [&](std::size_t i) {
    if (i + kMinMatch > n) return;
    const uint32_t h = hash_at(i);
    prev[i % kWindow] = head[h];
    head[h] = int64_t(i);
  };

  std::size_t i = 0;
  while (i < n) {
    int best_len = 0, best_dist = 0;
    if (i + kMinMatch <= n) {
      const int max_len = int(std::min<std::size_t>(kMaxMatch, n - i));
      int64_t cand = head[hash_at(i)];
      for (int chain = 0; chain < kMaxChain && cand >= 0 && int64_t(i) - cand <= kWindow; ++chain) {
        const std::size_t c = std::size_t(cand);
        int len = 0;
        while (len < max_len && data[c + len] == data[i + len]) ++len;
        if (len > best_len) {  // strictly longer: among equal lengths the nearest (first found) wins
          best_len = len;
          best_dist = int(i - c);
          if (len == max_len) break;
        }
        const int64_t p = prev[c % kWindow];
        if (p >= cand) break;  // slot reused by a newer position: the chain ends here
        cand = p;
      }
    }
    if (best_len >= kMinMatch) {
      put_match(bw, best_len, best_dist);
      for (int k = 0; k < best_len; ++k) insert(i + k);
      i += std::size_t(best_len);
    } else {
      put_litlen(bw, data[i]);
      insert(i);
      ++i;
    }
  }
  put_litlen(bw, 256);  // end of block
  bw.flush();
  const uint32_t ad = adler32(data, n);
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(ad >> s));  // Adler-32, big endian
  return out;
}

}  // namespace sixbit::io
