// Context embeddings from a file (reference/model/context.hpp): .npy and safetensors files generated here, in
// every accepted form, and a catalogue of bad ones, each refused with a message naming the file and the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"
#include "reference/model/context.hpp"
#include "reference/model/dit.hpp"

namespace sm = sixbit::model;
namespace io = sixbit::io;
namespace fs = std::filesystem;

namespace {

fs::path tmp_dir() {
  const fs::path d = fs::temp_directory_path() / ("sixbit_context_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// A .npy v1.0 file as numpy.save writes it: magic, version, u16 header length, a dict padded with spaces to a
// multiple of 64 bytes ending in '\n', then the C-order data (numpy/lib/format.py, _write_array_header).
void write_npy(const fs::path& p, const std::string& descr, const std::vector<int64_t>& shape, const void* data,
               size_t nbytes) {
  std::string dims;  // Python's tuple repr: (5, 32), (32,)
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  out.write(reinterpret_cast<const char*>(&len), 2);
  out << header;
  out.write(static_cast<const char*>(data), std::streamsize(nbytes));
}

std::vector<float> values(int64_t n, float scale = 0.5f) {
  std::vector<float> v = sm::gaussian_normals(77, n);
  for (float& x : v) x *= scale;
  return v;
}

// Runs f, expects a sixbit::Error whose message names the file and contains `what`.
template <typename F>
void expect_refused(F f, const fs::path& p, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << p << ": no error (expected '" << what << "')";
  } catch (const sixbit::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p.string()), std::string::npos) << "message does not name the file: " << m;
    EXPECT_NE(m.find(what), std::string::npos) << "message does not say '" << what << "': " << m;
  }
}

}  // namespace

TEST(DitContext, NpyF32AndF64AndBatchOfOne) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const fs::path d = tmp_dir();
  const std::vector<float> v = values(5 * cfg.text_dim);
  write_npy(d / "ctx.npy", "<f4", {5, cfg.text_dim}, v.data(), v.size() * 4);
  const sm::Mat m = sm::load_context((d / "ctx.npy").string(), cfg);
  EXPECT_EQ(m.rows, 5);
  EXPECT_EQ(m.cols, cfg.text_dim);
  EXPECT_EQ(std::memcmp(m.v.data(), v.data(), v.size() * 4), 0);

  write_npy(d / "ctx_b.npy", "<f4", {1, 5, cfg.text_dim}, v.data(), v.size() * 4);
  const sm::Mat b = sm::load_context((d / "ctx_b.npy").string(), cfg);
  EXPECT_EQ(b.rows, 5);
  EXPECT_EQ(b.v, v);

  std::vector<double> v64(v.size());
  for (size_t i = 0; i < v.size(); ++i) v64[i] = double(v[i]) + double(v[i]) * 0x1.0p-30;  // not fp32 values
  write_npy(d / "ctx64.npy", "<f8", {5, cfg.text_dim}, v64.data(), v64.size() * 8);
  const sm::Mat m64 = sm::load_context((d / "ctx64.npy").string(), cfg);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(m64.v[i], float(v64[i])) << i;  // rounded once to nearest
  fs::remove_all(d);
}

TEST(DitContext, SafetensorsNamedOrAloneAnyFloatDtype) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const fs::path d = tmp_dir();
  const std::vector<float> v = values(3 * cfg.text_dim), other = values(4);
  io::write_safetensors((d / "named.safetensors").string(),
                        {io::make_f32_tensor("other", {2, 2}, other.data()),
                         io::make_f32_tensor("context", {3, cfg.text_dim}, v.data())},
                        {}, true);
  EXPECT_EQ(sm::load_context((d / "named.safetensors").string(), cfg).v, v);
  io::write_safetensors((d / "alone.safetensors").string(), {io::make_f32_tensor("prompt_embeds", {1, 3, cfg.text_dim}, v.data())},
                        {}, true);
  const sm::Mat a = sm::load_context((d / "alone.safetensors").string(), cfg);
  EXPECT_EQ(a.rows, 3);
  EXPECT_EQ(a.v, v);
  // BF16: the top half of each fp32 (exact widening back).
  io::OwnedTensor bf{"context", io::DType::kBF16, {3, cfg.text_dim}, {}};
  std::vector<float> expect(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    const uint16_t h = uint16_t(u >> 16);
    bf.bytes.push_back(uint8_t(h & 0xFF));
    bf.bytes.push_back(uint8_t(h >> 8));
    u &= 0xFFFF0000u;
    std::memcpy(&expect[i], &u, 4);
  }
  io::write_safetensors((d / "bf16.safetensors").string(), {bf}, {}, true);
  EXPECT_EQ(sm::load_context((d / "bf16.safetensors").string(), cfg).v, expect);
  fs::remove_all(d);
}

TEST(DitContext, LoadedContextDrivesTheDit) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const fs::path d = tmp_dir();
  const std::vector<float> v = values(cfg.text_len * cfg.text_dim);  // all text_len tokens: the upper limit
  write_npy(d / "full.npy", "<f4", {cfg.text_len, cfg.text_dim}, v.data(), v.size() * 4);
  const sm::Mat ctx = sm::load_context((d / "full.npy").string(), cfg);
  sm::Mat mem(cfg.text_len, cfg.text_dim);
  mem.v = v;
  const sm::Weights w = sm::synthetic_weights(cfg, 3);
  const std::vector<float> latent = sm::gaussian_normals(4, int64_t(cfg.in_dim) * cfg.latent_frames * cfg.latent_height * cfg.latent_width);
  sm::ReferenceOps ops;
  EXPECT_EQ(sm::dit_forward(cfg, w, latent, 500.0, ctx, ops), sm::dit_forward(cfg, w, latent, 500.0, mem, ops));
  fs::remove_all(d);
}

TEST(DitContext, BadFilesAreRefusedNamingFileAndProblem) {
  const sm::DitConfig cfg = sm::preset("tiny");
  const fs::path d = tmp_dir();
  const int td = cfg.text_dim;
  auto load = [&](const fs::path& p) { return [&cfg, p] { sm::load_context(p.string(), cfg); }; };
  std::vector<float> v = values(int64_t(cfg.text_len + 1) * td);

  write_npy(d / "dim.npy", "<f4", {2, td + 1}, v.data(), size_t(2 * (td + 1)) * 4);
  expect_refused(load(d / "dim.npy"), d / "dim.npy", "text_dim is " + std::to_string(td));
  write_npy(d / "long.npy", "<f4", {cfg.text_len + 1, td}, v.data(), v.size() * 4);
  expect_refused(load(d / "long.npy"), d / "long.npy", "1 to text_len = " + std::to_string(cfg.text_len));
  write_npy(d / "empty.npy", "<f4", {0, td}, v.data(), 0);
  expect_refused(load(d / "empty.npy"), d / "empty.npy", "has 0 tokens");
  write_npy(d / "rank1.npy", "<f4", {int64_t(td)}, v.data(), size_t(td) * 4);
  expect_refused(load(d / "rank1.npy"), d / "rank1.npy", "expected [n, text_dim]");
  write_npy(d / "batch2.npy", "<f4", {2, 1, td}, v.data(), size_t(2 * td) * 4);
  expect_refused(load(d / "batch2.npy"), d / "batch2.npy", "expected [n, text_dim]");
  std::vector<int32_t> ints(size_t(2 * td), 1);
  write_npy(d / "int.npy", "<i4", {2, td}, ints.data(), ints.size() * 4);
  expect_refused(load(d / "int.npy"), d / "int.npy", "must be a float type");
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> w(size_t(3 * td), 0.25f);
    w[size_t(td + 7)] = bad;  // row 1, column 7
    write_npy(d / "nonfinite.npy", "<f4", {3, td}, w.data(), w.size() * 4);
    expect_refused(load(d / "nonfinite.npy"), d / "nonfinite.npy", "at [1, 7]");
  }
  write_npy(d / "trunc.npy", "<f4", {3, td}, v.data(), size_t(3 * td) * 4 - 4);
  expect_refused(load(d / "trunc.npy"), d / "trunc.npy", "truncated");

  io::write_safetensors((d / "two.safetensors").string(),
                        {io::make_f32_tensor("a", {2, td}, v.data()), io::make_f32_tensor("b", {2, td}, v.data())}, {},
                        true);
  expect_refused(load(d / "two.safetensors"), d / "two.safetensors", "none named 'context'");
  std::ofstream(d / "garbage.bin", std::ios::binary) << "this is not a tensor file at all";
  expect_refused(load(d / "garbage.bin"), d / "garbage.bin", "");
  expect_refused(load(d / "missing.npy"), d / "missing.npy", "cannot open");
  // Every truncation of a valid safetensors file is refused, never a crash.
  io::write_safetensors((d / "ok.safetensors").string(), {io::make_f32_tensor("context", {2, td}, v.data())}, {}, true);
  std::ifstream in(d / "ok.safetensors", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NO_THROW(sm::load_context((d / "ok.safetensors").string(), cfg));
  int refused = 0;
  for (size_t cut = 0; cut < all.size(); cut += 7) {
    std::ofstream(d / "cut.safetensors", std::ios::binary | std::ios::trunc).write(all.data(), std::streamsize(cut));
    try {
      sm::load_context((d / "cut.safetensors").string(), cfg);
    } catch (const sixbit::Error&) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, int((all.size() + 6) / 7));
  fs::remove_all(d);
}
