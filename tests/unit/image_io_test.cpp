// sixbit::io image writers: checksums against their published check values, the file layout byte by byte where
// the specifications fix it, determinism, and every refusal (overwrite, unwritable path, bad sizes).
// Pixel round trips through an independent decoder (Pillow) are in tests/oracle/media_pillow.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "reference/io/gif_encode.hpp"
#include "reference/io/image_io.hpp"
#include "reference/io/zlib_deflate.hpp"

namespace {
namespace fs = std::filesystem;
using namespace sixbit::io;

RgbImage noise_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  RgbImage im{w, h, std::vector<uint8_t>(std::size_t(w) * h * 3)};
  for (auto& v : im.rgb) v = uint8_t(rng());
  return im;
}

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// A fresh empty directory per test, removed afterwards.
class ImageIoFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sixbit_image_io_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(Checksums, PublishedCheckValues) {
  // CRC-32/ISO-HDLC check value of "123456789" (the CRC catalogue's "check" field; also zlib.crc32).
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xCBF43926u);
  // Continuing a CRC over a split input gives the same value.
  const uint32_t part = crc32(reinterpret_cast<const uint8_t*>(s.data()), 4);
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s.data()) + 4, 5, part), 0xCBF43926u);
  // Adler-32 of "Wikipedia" = 0x11E60398 (a = 920 = 0x398, b = 4582 = 0x11E6, worked in the Adler-32 article).
  const std::string w = "Wikipedia";
  EXPECT_EQ(adler32(reinterpret_cast<const uint8_t*>(w.data()), w.size()), 0x11E60398u);
  EXPECT_EQ(adler32(nullptr, 0), 1u);  // RFC 1950: the initial value
  // Long input crosses the 5552-byte reduction blocks: all 0xFF, n = 100000 -> a = 1 + 255 n mod 65521,
  // b = n + 255 n (n + 1) / 2 mod 65521, computed here in 64-bit.
  const std::vector<uint8_t> ff(100000, 0xFF);
  const uint64_t n = ff.size(), a = (1 + 255 * n) % 65521, b = (n + 255 * n * (n + 1) / 2) % 65521;
  EXPECT_EQ(adler32(ff.data(), ff.size()), uint32_t(b << 16 | a));
}

TEST(Png, LayoutFixedByTheSpecification) {
  const RgbImage im = noise_image(3, 2, 1);
  const std::vector<uint8_t> png = encode_png(im);
  const std::vector<uint8_t> head = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                     0,    0,   0,   3,   0,    0,    0,    2,    8, 2, 0, 0,  0};
  ASSERT_GT(png.size(), head.size() + 12);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), png.begin()));
  // IEND: empty chunk whose CRC over "IEND" is the well-known AE 42 60 82.
  const std::vector<uint8_t> iend = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  EXPECT_TRUE(std::equal(iend.begin(), iend.end(), png.end() - 12));
}

TEST(Png, DeterministicAndCompressesFlatImages) {
  const RgbImage im = noise_image(50, 40, 7);
  EXPECT_EQ(encode_png(im), encode_png(im));
  EXPECT_NE(encode_png(im), encode_png(noise_image(50, 40, 8)));
  // A flat 640x480 image (921,600 bytes raw) must be deflated, not stored: < 1% of raw. Decoded by zlib and Pillow
  // in the oracle test.
  const RgbImage flat{640, 480, std::vector<uint8_t>(640 * 480 * 3, 200)};
  EXPECT_LT(encode_png(flat).size(), 9216u);
}

TEST(Gif, LayoutAndLoopExtension) {
  std::vector<RgbImage> frames = {noise_image(5, 4, 2), noise_image(5, 4, 3)};
  for (auto& f : frames)
    for (auto& v : f.rgb) v &= 0xC0;  // 4 levels per channel: <= 64 colors, exact palette
  const std::vector<uint8_t> gif = encode_gif(frames, 7);
  EXPECT_EQ(std::string(gif.begin(), gif.begin() + 6), "GIF89a");
  EXPECT_EQ(gif[6], 5);
  EXPECT_EQ(gif[8], 4);
  const std::string bytes(gif.begin(), gif.end());
  EXPECT_NE(bytes.find(std::string("\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00", 19)), std::string::npos);
  EXPECT_NE(bytes.find(std::string("\x21\xF9\x04\x04\x07\x00", 6)), std::string::npos);  // delay 7 cs
  EXPECT_EQ(gif.back(), 0x3B);
  EXPECT_EQ(gif, encode_gif(frames, 7));
}

TEST(Gif, PaletteExactUpTo256ColorsThenMedianCut) {
  RgbImage im{256, 1, {}};
  for (int i = 0; i < 256; ++i) im.rgb.insert(im.rgb.end(), {uint8_t(i), uint8_t(255 - i), uint8_t(i / 2)});
  const GifPalette exact = build_gif_palette({im});
  EXPECT_TRUE(exact.exact);
  EXPECT_EQ(exact.colors.size(), 256u);
  EXPECT_EQ(map_to_palette(im, exact).size(), 256u);
  const RgbImage many = noise_image(64, 64, 5);  // ~4096 distinct colors
  const GifPalette quant = build_gif_palette({many});
  EXPECT_FALSE(quant.exact);
  EXPECT_EQ(quant.colors.size(), 256u);
  // The mapping is to the nearest entry: no pixel can be farther than from some other palette entry.
  const std::vector<uint8_t> idx = map_to_palette(many, quant);
  for (std::size_t p = 0; p < idx.size(); p += 97) {
    auto dist = [&](uint32_t c) {
      const int dr = int(c >> 16) - many.rgb[3 * p], dg = int((c >> 8) & 0xFF) - many.rgb[3 * p + 1],
                db = int(c & 0xFF) - many.rgb[3 * p + 2];
      return dr * dr + dg * dg + db * db;
    };
    for (uint32_t c : quant.colors) EXPECT_LE(dist(quant.colors[idx[p]]), dist(c));
  }
}

TEST(Gif, LargeVideosCountColorsTheSameWay) {
  // >= 2^22 pixels take the dense-table histogram, fewer the sorted one; scaling every color's count by the same
  // factor leaves median cut unchanged, so a frame and 1024 copies of it must give the same palette.
  const RgbImage small = noise_image(64, 64, 11);
  RgbImage tiled{1024, 256, {}};
  for (int k = 0; k < 64; ++k) tiled.rgb.insert(tiled.rgb.end(), small.rgb.begin(), small.rgb.end());
  const std::vector<RgbImage> big(16, tiled);  // 16 * 1024 * 256 = 2^22 pixels
  const GifPalette a = build_gif_palette({small}), b = build_gif_palette(big);
  EXPECT_FALSE(a.exact);
  EXPECT_EQ(a.colors, b.colors);
}

TEST_F(ImageIoFiles, RefusesToOverwriteUnlessAsked) {
  const std::string png = (dir_ / "a.png").string(), gif = (dir_ / "a.gif").string();
  write_png(png, noise_image(4, 4, 1), false);
  write_gif(gif, {noise_image(4, 4, 1)}, 5, false);
  const auto png_before = read_all(png), gif_before = read_all(gif);
  try {
    write_png(png, noise_image(4, 4, 2), false);
    FAIL() << "overwrote without the flag";
  } catch (const sixbit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_gif(gif, {noise_image(4, 4, 2)}, 5, false), sixbit::Error);
  EXPECT_EQ(read_all(png), png_before);  // untouched
  EXPECT_EQ(read_all(gif), gif_before);
  write_png(png, noise_image(4, 4, 2), true);
  write_gif(gif, {noise_image(4, 4, 2)}, 5, true);
  EXPECT_EQ(read_all(png), encode_png(noise_image(4, 4, 2)));
  EXPECT_EQ(read_all(gif), encode_gif({noise_image(4, 4, 2)}, 5));
}

TEST_F(ImageIoFiles, UnwritablePathsAreClearErrors) {
  const RgbImage im = noise_image(2, 2, 1);
  auto message = [&](const std::string& path) {
    try {
      write_png(path, im, true);
    } catch (const sixbit::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string missing = (dir_ / "no_such_dir" / "x.png").string();
  EXPECT_NE(message(missing).find("cannot open for writing"), std::string::npos) << message(missing);
  EXPECT_NE(message(missing).find(missing), std::string::npos);
  EXPECT_NE(message(dir_.string()).find("cannot open for writing"), std::string::npos);  // a directory
  EXPECT_NE(message("").find("empty output path"), std::string::npos);
  EXPECT_FALSE(fs::exists(missing));
  // A full device: the short write is reported and the partial file removed (skipped where /dev/full is absent).
  if (fs::exists("/dev/full")) {
    EXPECT_NE(message("/dev/full").find("write failed"), std::string::npos);
  }
}

TEST_F(ImageIoFiles, BadImagesAreRejectedBeforeAnythingIsWritten) {
  const std::string path = (dir_ / "bad.png").string();
  EXPECT_THROW(write_png(path, RgbImage{}, false), sixbit::Error);
  EXPECT_THROW(write_png(path, RgbImage{3, 3, std::vector<uint8_t>(26)}, false), sixbit::Error);
  EXPECT_THROW(write_png(path, RgbImage{-1, 3, {}}, false), sixbit::Error);
  EXPECT_THROW(write_gif(path, {}, 5, false), sixbit::Error);
  EXPECT_THROW(write_gif(path, {noise_image(2, 2, 1), noise_image(2, 3, 1)}, 5, false), sixbit::Error);
  EXPECT_THROW(write_gif(path, {noise_image(2, 2, 1)}, -1, false), sixbit::Error);
  EXPECT_THROW(write_gif(path, {noise_image(2, 2, 1)}, 70000, false), sixbit::Error);
  EXPECT_THROW(write_gif(path, {noise_image(70000, 1, 1)}, 5, false), sixbit::Error);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(ImageIoFiles, OddSizesAndManyFramesWrite) {
  write_png((dir_ / "1x1.png").string(), noise_image(1, 1, 1), false);
  write_png((dir_ / "1x1000.png").string(), noise_image(1, 1000, 1), false);
  std::vector<RgbImage> frames;
  for (int f = 0; f < 200; ++f) frames.push_back(noise_image(3, 2, unsigned(f)));
  write_gif((dir_ / "many.gif").string(), frames, 2, false);
  EXPECT_GT(fs::file_size(dir_ / "many.gif"), 200u * 10);  // >= a descriptor and a control block per frame
}

}  // namespace
