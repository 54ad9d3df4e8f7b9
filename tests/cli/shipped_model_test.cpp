// The shipped small model (models/sixbit-small.safetensors, docs/model-card.md): its bytes, what a short sample of
// it still does, and that `sixbit run` uses it by default. An accidental change to the model, the sampler, the
// reference ops or the detectors shows up here in CI.
//
// The adherence check is EXACT on purpose: the C++ reference is deterministic to the bit (any thread count, portable
// or AVX-512 build), so the six samples below must be detected exactly as recorded when the model card's figures were
// measured. On top of that, the attributes the model masters must meet the bar (>= 90%).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.hpp"

namespace {
namespace fs = std::filesystem;

const std::string kModel = std::string(SIXBIT_SOURCE_DIR) + "/models/sixbit-small.safetensors";
// sha256sum models/sixbit-small.safetensors (docs/model-card.md): EMA weights after 23,846 training steps.
const char* const kModelSha256 = "b7112f00f6b03bccba3270ed1d67867fba1bbf6dfc71fdd8ec5421a43b00efb2";

using sixbit::testing::CommandResult;
using sixbit::testing::run_shell;
using sixbit::testing::slurp;

const std::string kSixbit = std::string(SIXBIT_BINARY_DIR) + "/sixbit";

using ShippedModel = sixbit::testing::TempDirTest;

}  // namespace

TEST_F(ShippedModel, FileHashIsTheRecordedOne) {
  ASSERT_TRUE(fs::exists(kModel)) << kModel;
  const CommandResult r = run_shell("sha256sum '" + kModel + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.substr(0, 64), kModelSha256) << "models/sixbit-small.safetensors changed: retrained? update the "
                                                  "model card, this hash and the recorded samples below together";
}

TEST_F(ShippedModel, ShortSampleIsDetectedExactlyAsRecorded) {
  const fs::path json = dir_ / "eval.json";
  const CommandResult r = run_shell("OMP_WAIT_POLICY=passive " + kSixbit + " eval-world --limit 6 --json '" + json.string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(slurp(json));
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
  const CommandResult r = run_shell("OMP_WAIT_POLICY=passive SIXBIT_MODEL= " + kSixbit + " run --no-progress --steps 2 --out '" +
                         (dir_ / "run").string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("note: the shipped small model"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(dir_ / "run" / "report.json"));
  EXPECT_EQ(j["config"]["model"]["trained"], true) << j["config"]["model"].dump();
  EXPECT_NE(j["config"]["model"]["source"].get<std::string>().find("models/sixbit-small.safetensors"), std::string::npos);
  EXPECT_EQ(j["videos"][0]["condition_adherence"]["status"], "measured");
}
