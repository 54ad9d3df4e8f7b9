// `sixbit world` and `sixbit eval-world` end to end: outputs, determinism, refusal to overwrite, exit codes and
// messages for bad input. eval-world runs on a small synthetic self-describing checkpoint (tests/unit/
// world_test_model.hpp): its videos are noise, so only the plumbing is checked here, not adherence.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "../unit/world_test_model.hpp"
#include "reference/io/tensor_file.hpp"

#include "cli_support.hpp"

namespace {
namespace fs = std::filesystem;

using Result = sixbit::testing::CommandResult;
using sixbit::testing::slurp;
Result run_sixbit(const std::string& args) { return sixbit::testing::run_sixbit_with_env("", args); }

using WorldCli = sixbit::testing::TempDirTest;

const char* kPrompt = "'a green square moving up slowly on a dark background'";
}  // namespace

TEST_F(WorldCli, RendersFramesAndGifDeterministically) {
  Result r = run_sixbit(std::string("world --prompt ") + kPrompt + " --seed 4 --out " + path("a"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("detected green square moving up slowly on a dark background"), std::string::npos) << r.out;
  for (int f = 0; f < 16; ++f) {
    char n[32];
    std::snprintf(n, sizeof n, "frame_%02d.png", f);
    ASSERT_TRUE(fs::exists(dir_ / "a" / n)) << n;
  }
  ASSERT_TRUE(fs::exists(dir_ / "a" / "video.gif"));
  EXPECT_EQ(slurp(dir_ / "a" / "video.gif").substr(0, 6), "GIF89a");
  EXPECT_EQ(slurp(dir_ / "a" / "frame_00.png").substr(1, 3), "PNG");
  ASSERT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --seed 4 --out " + path("b")).code, 0);
  EXPECT_EQ(slurp(dir_ / "a" / "frame_07.png"), slurp(dir_ / "b" / "frame_07.png"));
  EXPECT_EQ(slurp(dir_ / "a" / "video.gif"), slurp(dir_ / "b" / "video.gif"));
  ASSERT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --seed 5 --out " + path("c")).code, 0);
  EXPECT_NE(slurp(dir_ / "a" / "frame_07.png"), slurp(dir_ / "c" / "frame_07.png"));
}

TEST_F(WorldCli, RefusesToOverwriteAndRejectsBadInput) {
  ASSERT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --out " + path("a")).code, 0);
  const std::string before = slurp(dir_ / "a" / "frame_03.png");
  Result r = run_sixbit(std::string("world --prompt ") + kPrompt + " --seed 9 --out " + path("a"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("refusing to overwrite"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(dir_ / "a" / "frame_03.png"), before);
  EXPECT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --seed 9 --overwrite --out " + path("a")).code, 0);
  EXPECT_NE(slurp(dir_ / "a" / "frame_03.png"), before);

  r = run_sixbit("world --prompt 'a pink square moving up slowly on a dark background' --out " + path("x"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("'pink' is not a COLOR"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  EXPECT_EQ(run_sixbit("world --prompt 'a red circle' --out " + path("x")).code, 1);
  EXPECT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --seed -1 --out " + path("x")).code, 2);
  EXPECT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --scale 0 --out " + path("x")).code, 2);
  EXPECT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt + " --colour red --out " + path("x")).code, 2);
  EXPECT_EQ(run_sixbit(std::string("world --prompt ") + kPrompt).code, 2);
  EXPECT_EQ(run_sixbit("world --list --split test").code, 2);
  EXPECT_EQ(run_sixbit("world --help").code, 0);
}

TEST_F(WorldCli, ListsTheGrammarAndSplit) {
  Result all = run_sixbit("world --list"), eval = run_sixbit("world --list --split eval"), train = run_sixbit("world --list --split train");
  ASSERT_EQ(all.code, 0);
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(all.out), 288);
  EXPECT_EQ(lines(eval.out), 48);
  EXPECT_EQ(lines(train.out), 240);
  EXPECT_NE(all.out.find("  0  eval   a red circle moving left slowly on a dark background"), std::string::npos);
}

TEST_F(WorldCli, EvalWorldRunsAndReportsEveryAttribute) {
  const std::string model = path("m.safetensors");
  sixbit::testing::write_world_test_model(model);
  const std::string base = "eval-world --model " + model + " --limit 2 --steps 2 ";
  Result r = run_sixbit(base + "--json " + path("r.json") + " --out " + path("out"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("adherence over 2 samples"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(dir_ / "r.json"));
  ASSERT_EQ(j["samples"].size(), 2u);
  EXPECT_EQ(j["samples"][0]["seed"], 1);  // S + 1000 * id(0) + 0
  EXPECT_EQ(j["samples"][1]["prompt"], "a red circle moving right slowly on a light background");  // eval id 5
  EXPECT_EQ(j["samples"][1]["seed"], 5001);
  for (const char* k : {"color", "shape", "direction", "speed", "background", "all"}) EXPECT_TRUE(j["summary"].contains(k)) << k;
  EXPECT_EQ(j["sampler"]["steps"], 2);
  const auto f = sixbit::io::SafetensorsFile::open(path("out/samples.safetensors"));
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.get("p5_s5001").shape, (std::vector<int64_t>{3, 16, 32, 32}));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "p0_s1.gif"));
  // Same run, same bits; a refusal for existing outputs; --require against the reported numbers.
  ASSERT_EQ(run_sixbit(base + "--json " + path("r2.json")).code, 0);
  EXPECT_EQ(nlohmann::json::parse(slurp(dir_ / "r2.json"))["samples"], j["samples"]);
  EXPECT_EQ(run_sixbit(base + "--json " + path("r.json")).code, 1);
  const double worst = std::min({j["summary"]["color"].get<double>(), j["summary"]["shape"].get<double>(),
                                 j["summary"]["direction"].get<double>()});
  EXPECT_EQ(run_sixbit(base + "--require 100").code, worst < 1.0 ? 1 : 0);
  EXPECT_EQ(run_sixbit(base + "--require 0").code, 0);
}

TEST_F(WorldCli, EvalWorldRejectsWhatItCannotScore) {
  Result r = run_sixbit("eval-world --model tiny --steps 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("needs the trained small model"), std::string::npos) << r.out;
  const std::string model = path("m.safetensors");
  sixbit::testing::write_world_test_model(model, 5, {{"sixbit.vocab", ""}});
  r = run_sixbit("eval-world --model " + model);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no \"sixbit.vocab\" metadata"), std::string::npos) << r.out;
  sixbit::testing::write_world_test_model(model);
  EXPECT_EQ(run_sixbit("eval-world --model " + model + " --split test").code, 2);
  EXPECT_EQ(run_sixbit("eval-world --model " + model + " --seeds 0").code, 2);
  EXPECT_EQ(run_sixbit("eval-world --model " + model + " --require 101").code, 2);
  EXPECT_EQ(run_sixbit("eval-world --model " + model + " --solver heun").code, 2);
  EXPECT_EQ(run_sixbit("eval-world --model " + path("missing.safetensors")).code, 1);
}
