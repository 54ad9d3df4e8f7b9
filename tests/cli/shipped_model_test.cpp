// The shipped small model (models/sixbit-small.safetensors, docs/model-card.md): its bytes, what a short sample of
// it still does, and that `sixbit run` uses it by default. An accidental change to the model, the sampler, the
// reference ops or the detectors shows up here in CI.
//
// The adherence check is EXACT on purpose: the C++ reference is deterministic to the bit (any thread count, portable
// or AVX-512 build), so the six samples below must be detected exactly as recorded when the model card's figures were
// measured. On top of that, the attributes the model masters must meet the bar (>= 90%).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

namespace {
namespace fs = std::filesystem;

const std::string kModel = std::string(SIXBIT_SOURCE_DIR) + "/models/sixbit-small.safetensors";
// sha256sum models/sixbit-small.safetensors (docs/model-card.md): EMA weights after 23,846 training steps.
const char* const kModelSha256 = "b7112f00f6b03bccba3270ed1d67867fba1bbf6dfc71fdd8ec5421a43b00efb2";

struct Result {
  int code;
  std::string out;
};

Result shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  Result r{-1, {}};
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string sixbit() { return std::string(SIXBIT_BINARY_DIR) + "/sixbit"; }

class ShippedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sixbit_shipped_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(ShippedModel, FileHashIsTheRecordedOne) {
  ASSERT_TRUE(fs::exists(kModel)) << kModel;
  const Result r = shell("sha256sum '" + kModel + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, 64), kModelSha256) << "models/sixbit-small.safetensors changed: retrained? update the "
                                                  "model card, this hash and the recorded samples below together";
}

TEST_F(ShippedModel, ShortSampleIsDetectedExactlyAsRecorded) {
  const fs::path json = dir_ / "eval.json";
  const Result r = shell("OMP_WAIT_POLICY=passive " + sixbit() + " eval-world --limit 6 --json '" + json.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(json);
  const auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  // Recorded with this model and its sampler defaults (euler, 20 steps, shift 3, guidance 4), seeds 1 + 1000 id.
  const char* const expected[] = {
#include "shipped_model_expected.inc"
  };
  ASSERT_EQ(j["samples"].size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i)
    EXPECT_EQ(j["samples"][i]["detected"].get<std::string>(), expected[i]) << "sample " << i << ": "
                                                                          << j["samples"][i]["prompt"];
  // The bar of issue 5 on the attributes this model masters; shape and direction are below it (model card).
  EXPECT_GE(j["summary"]["color"].get<double>(), 0.9);
  EXPECT_GE(j["summary"]["background"].get<double>(), 0.9);
}

TEST_F(ShippedModel, IsWhatRunUsesByDefault) {
  // SIXBIT_MODEL empty: the default model resolution, as a newcomer gets it.
  const Result r = shell("OMP_WAIT_POLICY=passive SIXBIT_MODEL= " + sixbit() + " run --no-progress --steps 2 --out '" +
                         (dir_ / "run").string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("note: the shipped small model"), std::string::npos) << r.out;
  std::ifstream in(dir_ / "run" / "report.json");
  const auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  EXPECT_EQ(j["config"]["model"]["trained"], true) << j["config"]["model"].dump();
  EXPECT_NE(j["config"]["model"]["source"].get<std::string>().find("models/sixbit-small.safetensors"), std::string::npos);
  EXPECT_EQ(j["videos"][0]["condition_adherence"]["status"], "measured");
}
