// safetensors / .npy I/O: round trips (EXACT bytes), exact float widening, and a catalogue of corrupted files,
// each of which must give a clear sixbit::Error naming the problem (never a crash).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cmath>
#include <string>
#include <unistd.h>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"

namespace {
using namespace sixbit;
namespace fs = std::filesystem;

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("sixbit_io_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A raw safetensors file from a header string and a data buffer.
std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  const fs::path p = temp_dir() / "rt.safetensors";
  fs::remove(p);
  const float vals[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f};
  std::vector<io::OwnedTensor> ts = {io::make_f32_tensor("a.weight", {2, 3}, vals), {"codes", io::DType::kU8, {4}, {1, 2, 3, 255}},
                                     {"bf", io::DType::kBF16, {2}, {0x80, 0x3F, 0x00, 0xC0}}, {"h", io::DType::kF16, {2}, {0x00, 0x3C, 0x01, 0x00}}};
  io::write_safetensors(p.string(), ts, {{"k", "v"}}, false);
  const auto f = io::SafetensorsFile::open(p.string());
  EXPECT_EQ(f.metadata().at("k"), "v");
  const auto& a = f.get("a.weight");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(0, std::memcmp(a.data, vals, sizeof vals));
  EXPECT_EQ(io::to_f32(f.get("bf")), (std::vector<float>{1.0f, -2.0f}));                 // bf16 0x3F80, 0xC000
  EXPECT_EQ(io::to_f32(f.get("h")), (std::vector<float>{1.0f, 5.9604644775390625e-08f}));  // f16 0x3C00 and the smallest subnormal
  EXPECT_EQ(f.get("codes").data[3], 255);
  EXPECT_THROW(io::write_safetensors(p.string(), ts, {}, false), Error) << "an existing file is never overwritten silently";
  io::write_safetensors(p.string(), ts, {}, true);
  EXPECT_THROW(f.get("missing"), Error);
}

TEST(Safetensors, CorruptedFilesGiveClearErrors) {
  const fs::path d = temp_dir();
  const std::string good_header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const struct {
    const char* name;
    std::string bytes;
    const char* expect;  // a fragment the message must contain
  } cases[] = {
      {"empty", "", "truncated"},
      {"short", "abc", "truncated"},
      {"header past eof", raw_safetensors(good_header, "").substr(0, 20), "past the end"},
      {"bad json", raw_safetensors("{not json", ""), "not valid JSON"},
      {"not an object", raw_safetensors("[1,2]", ""), "JSON object"},
      {"unknown dtype", raw_safetensors(R"({"t":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", "xx"), "unsupported dtype"},
      {"offsets out of range", raw_safetensors(good_header, "1234"), "out of range"},
      {"size mismatch", raw_safetensors(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "12345678"), "needs 12"},
      {"overlap", raw_safetensors(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", "123456"), "overlap"},
      {"missing field", raw_safetensors(R"({"t":{"dtype":"F32","shape":[2]}})", ""), "data_offsets"},
      {"bad metadata", raw_safetensors(R"({"__metadata__":{"k":1}})", ""), "not a string"},
      {"duplicate name", raw_safetensors(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "ab"), "more than once"},
      {"negative shape", raw_safetensors(R"({"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", ""), "non-negative"},
  };
  for (const auto& c : cases) {
    const fs::path p = d / "bad.safetensors";
    write_bytes(p, c.bytes);
    try {
      io::SafetensorsFile::open(p.string());
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << c.name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << c.name << ": the message names the file";
    }
  }
  EXPECT_THROW(io::SafetensorsFile::open((d / "does-not-exist").string()), Error);
}

TEST(Safetensors, EveryTruncationAndByteFlipIsHandled) {
  // Every prefix of a valid file must be rejected with sixbit::Error (never a crash or an out-of-bounds read;
  // run under -fsanitize=address to see the latter), and only the full file opens.
  const fs::path d = temp_dir(), good = d / "good.safetensors", bad = d / "cut.safetensors";
  const float v[6] = {1, -2, 3, -4, 5, -6};
  io::write_safetensors(good.string(), {io::make_f32_tensor("a", {2, 3}, v), io::make_f32_tensor("b", {2}, v)}, {{"k", "v"}}, true);
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int rejected = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    write_bytes(bad, bytes.substr(0, len));
    try {
      io::SafetensorsFile::open(bad.string());
      ADD_FAILURE() << "a " << len << "-byte prefix opened";
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, static_cast<int>(bytes.size()));
  // Flipping any single header byte either still parses to a consistent file or gives sixbit::Error.
  for (size_t i = 0; i < bytes.size() - 32; ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ 0x5A);
    write_bytes(bad, b);
    try {
      const auto f = io::SafetensorsFile::open(bad.string());
      for (const auto& t : f.tensors()) EXPECT_LE(t.nbytes, b.size());
    } catch (const Error&) {
    }
  }
  const auto f = io::SafetensorsFile::open(good.string());
  EXPECT_EQ(io::to_f32(f.get("a")), std::vector<float>(v, v + 6));
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& data, bool fortran = false) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + shape + "), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

TEST(Npy, ReadsAndRejects) {
  const fs::path p = temp_dir() / "x.npy";
  const float v[4] = {1, 2, 3, 4};
  write_bytes(p, npy("<f4", "2, 2", std::string(reinterpret_cast<const char*>(v), 16)));
  const auto t = io::read_npy(p.string());
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 2}));
  const auto f = io::load_float_tensors(p.string(), false);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].values, (std::vector<float>{1, 2, 3, 4}));
  write_bytes(p, npy("<f4", "2, 2", std::string(reinterpret_cast<const char*>(v), 12)));
  EXPECT_THROW(io::read_npy(p.string()), Error) << "truncated data";
  write_bytes(p, npy("<f4", "2, 2", std::string(reinterpret_cast<const char*>(v), 16), true));
  EXPECT_THROW(io::read_npy(p.string()), Error) << "fortran order";
  write_bytes(p, npy(">f4", "4,", std::string(16, '\0')));
  EXPECT_THROW(io::read_npy(p.string()), Error) << "big endian";
  // Every prefix of a valid .npy is rejected with sixbit::Error, never a crash.
  const std::string full = npy("<f4", "2, 2", std::string(reinterpret_cast<const char*>(v), 16));
  for (size_t len = 0; len < full.size(); ++len) {
    write_bytes(p, full.substr(0, len));
    EXPECT_THROW(io::read_npy(p.string()), Error) << len << "-byte prefix";
  }
  write_bytes(p, "NOTNUMPY");
  EXPECT_THROW(io::read_npy(p.string()), Error);
}

}  // namespace
