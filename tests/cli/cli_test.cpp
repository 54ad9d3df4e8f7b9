// The `sixbit` command end to end: exit codes and messages for bad input, --help, quantize -> inspect, refusal
// to overwrite, and identical output from two identical runs. Runs the built binary in a temp directory.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "reference/io/tensor_file.hpp"

#include "cli_support.hpp"

namespace {
namespace fs = std::filesystem;
using sixbit::io::OwnedTensor;

using Result = sixbit::testing::CommandResult;
Result sixbit(const std::string& args, const std::string& env = "") { return sixbit::testing::run_sixbit_with_env(env, args); }

class Cli : public sixbit::testing::TempDirTest {
 protected:
  std::string tensor_file(const std::string& name, int64_t rows, int64_t cols, float fill_nan_every = 0) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * static_cast<float>(i)) * (i % 97 == 0 ? 30.0f : 1.0f);
    if (fill_nan_every > 0)
      for (size_t i = 0; i < v.size(); i += static_cast<size_t>(fill_nan_every)) v[i] = NAN;
    sixbit::io::write_safetensors(path(name), {sixbit::io::make_f32_tensor("blocks.0.w", {rows, cols}, v.data())}, {}, true);
    return path(name);
  }
};

TEST_F(Cli, HelpAndUsageErrors) {
  EXPECT_EQ(sixbit("--help").code, 0);
  for (const char* c : {"run", "quantize", "inspect", "layer", "calibrate", "compare", "cache-sweep"}) {
    const Result r = sixbit(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.out.find("usage: sixbit"), std::string::npos) << c;
  }
  EXPECT_EQ(sixbit("").code, 2);
  EXPECT_EQ(sixbit("frobnicate").code, 2);
  const Result r = sixbit("run --no-such-flag");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown option --no-such-flag"), std::string::npos) << r.out;
  EXPECT_EQ(sixbit("run --tokens abc").code, 2);
  EXPECT_EQ(sixbit("quantize onlyone").code, 2);
}

TEST_F(Cli, QuantizeThenInspectAndNeverOverwrite) {
  const std::string in = tensor_file("w.safetensors", 8, 64), out = path("q.safetensors");
  Result r = sixbit("quantize " + in + " " + out + " --recipe torchao --layout 128x4");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto f = sixbit::io::SafetensorsFile::open(out);
  EXPECT_EQ(f.get("blocks.0.w.codes").shape, (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(f.get("blocks.0.w.scales").nbytes, 128u * 4u) << "128x4 layout pads 8 rows x 4 scales to 128 x 4";
  EXPECT_NE(f.metadata().at("blocks.0.w").find("\"torchao\""), std::string::npos);
  r = sixbit("inspect " + out);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("torchao"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("128x4"), std::string::npos) << r.out;
  // Row layout: 256 code bytes + 32 scale bytes + 8 global-scale bytes for 512 elements = 4.625 bits each.
  ASSERT_EQ(sixbit("quantize " + in + " " + path("row.safetensors")).code, 0);
  r = sixbit("inspect " + path("row.safetensors") + " --json");
  EXPECT_NE(r.out.find("\"bits_per_element\": 4.625"), std::string::npos) << r.out;
  // inspect dequantizes: the input's amax (~30) comes back within an E2M1/E4M3 rounding, never 0 or NaN.
  const auto deq = nlohmann::json::parse(r.out);
  ASSERT_EQ(deq.size(), 1u);
  const double deq_amax = deq[0]["dequantized"]["amax"].get<double>(), in_amax = deq[0]["amax"].get<double>();
  EXPECT_GT(in_amax, 20.0);
  EXPECT_NEAR(deq_amax, in_amax, 0.1 * in_amax);
  EXPECT_EQ(deq[0]["dequantized"]["non_finite"].get<int64_t>(), 0);
  const auto before = fs::last_write_time(out);
  r = sixbit("quantize " + in + " " + out);
  EXPECT_EQ(fs::last_write_time(out), before) << "the refused output is untouched";
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("refusing to overwrite"), std::string::npos) << r.out;
  EXPECT_EQ(sixbit("quantize " + in + " " + out + " --overwrite --format int8").code, 0);
  r = sixbit("inspect " + in + " --json");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\"sqnr_db\""), std::string::npos);
}

TEST_F(Cli, BadInputGetsClearErrors) {
  const std::string odd = tensor_file("odd.safetensors", 4, 24);
  Result r = sixbit("quantize " + odd + " " + path("o.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not a multiple of 16"), std::string::npos) << r.out;
  EXPECT_EQ(sixbit("quantize " + odd + " " + path("o.safetensors") + " --pad").code, 0);

  r = sixbit("quantize " + tensor_file("nan.safetensors", 4, 32, 5) + " " + path("n.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("NaN"), std::string::npos) << r.out;
  r = sixbit("quantize " + tensor_file("allnan.safetensors", 2, 16, 1) + " " + path("n.safetensors"));
  EXPECT_NE(r.out.find("all NaN"), std::string::npos) << r.out;

  {
    std::ofstream t(path("trunc.safetensors"), std::ios::binary);
    t.write("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13);
  }
  r = sixbit("inspect " + path("trunc.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("past the end"), std::string::npos) << r.out;
  r = sixbit("quantize " + tensor_file("w.safetensors", 2, 16) + " " + path("x.safetensors") + " --recipe fp4");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown NVFP4 recipe"), std::string::npos) << r.out;
  // Malformed safetensors files through the command: exit 1, "sixbit: error:", the file named, the problem said.
  const auto raw = [&](const std::string& name, const std::string& header, const std::string& data) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
    std::ofstream(path(name), std::ios::binary).write((bytes + header + data).data(), static_cast<std::streamsize>(8 + header.size() + data.size()));
    return path(name);
  };
  const struct {
    std::string file;
    const char* expect;
  } corrupt[] = {
      {raw("dtype.safetensors", R"({"t":{"dtype":"F8_E9","shape":[16],"data_offsets":[0,16]}})", std::string(16, 'x')), "unsupported dtype"},
      {raw("json.safetensors", "{\"t\": [", ""), "not valid JSON"},
      {raw("range.safetensors", R"({"t":{"dtype":"F32","shape":[16],"data_offsets":[0,64]}})", std::string(8, 'x')), "out of range"},
      {raw("size.safetensors", R"({"t":{"dtype":"F32","shape":[16],"data_offsets":[0,8]}})", std::string(8, 'x')), "needs 64"},
  };
  for (const auto& c : corrupt) {
    for (const std::string& cmd : {"quantize " + c.file + " " + path("c.safetensors"), "inspect " + c.file}) {
      r = sixbit(cmd);
      EXPECT_EQ(r.code, 1) << cmd << "\n" << r.out;
      EXPECT_EQ(r.out.rfind("sixbit: error: ", 0), 0u) << r.out;
      EXPECT_NE(r.out.find(c.file), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(c.expect), std::string::npos) << r.out;
    }
  }
  EXPECT_FALSE(fs::exists(path("c.safetensors"))) << "no output from a failed quantize";
  // A tensor with a zero dimension and a scalar: refused by name, not reported with inf bits per element.
  sixbit::io::write_safetensors(path("empty.safetensors"), {sixbit::io::make_f32_tensor("e", {0, 16}, nullptr)}, {}, true);
  for (const std::string& cmd : {"quantize " + path("empty.safetensors") + " " + path("c.safetensors"), "inspect " + path("empty.safetensors")}) {
    r = sixbit(cmd);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("'e' has no elements"), std::string::npos) << r.out;
  }
  r = sixbit("layer --dim 20");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("multiple of 16"), std::string::npos) << r.out;
}

TEST_F(Cli, LayerIsDeterministicAndReports) {
  const Result a = sixbit("layer --tokens 64 --dim 256 --out-dim 128 --json " + path("r.json"));
  ASSERT_EQ(a.code, 0) << a.out;
  const Result b = sixbit("layer --tokens 64 --dim 256 --out-dim 128");
  EXPECT_EQ(a.out, b.out);
  // The same bits whatever the thread count (the GEMMs parallelise over outputs only, never over k).
  // The table rounds to 2-4 digits, so compare the JSON reports too: nlohmann prints doubles round-trip exact.
  const Result one = sixbit("layer --tokens 64 --dim 256 --out-dim 128 --json " + path("r1.json"), "OMP_NUM_THREADS=1");
  const Result three = sixbit("layer --tokens 64 --dim 256 --out-dim 128 --json " + path("r3.json"), "OMP_NUM_THREADS=3");
  EXPECT_EQ(one.out, a.out);
  EXPECT_EQ(three.out, a.out);
  const auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string j = slurp(path("r.json"));
  EXPECT_GT(j.size(), 100u);
  EXPECT_EQ(slurp(path("r1.json")), j);
  EXPECT_EQ(slurp(path("r3.json")), j);
  EXPECT_NE(sixbit("layer --tokens 64 --dim 256 --out-dim 128 --seed 2").out, a.out) << "the seed changes the inputs";
  EXPECT_NE(a.out.find("W4A4"), std::string::npos);
  EXPECT_TRUE(fs::exists(path("r.json")));
  const Result c = sixbit("layer --tokens 64 --dim 256 --out-dim 128 --json " + path("r.json"));
  EXPECT_EQ(c.code, 1) << "the JSON report is never overwritten";
}

}  // namespace
