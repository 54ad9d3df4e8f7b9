// The harness commands end to end (`sixbit run`, calibrate, compare, cache-sweep) on the default model (the tiny
// preset until the small model ships): outputs written, reruns and thread counts give identical reports, the
// allocation extremes and TDC threshold 0 through the command line, refusal to overwrite, and a clear message with
// the right exit code for each kind of bad input, leaving nothing behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "reference/io/tensor_file.hpp"
#include "reference/model/prompt_encoder.hpp"
#include "reference/model/weights.hpp"
#include "reference/world/world.hpp"

#include "cli_support.hpp"

namespace {
namespace fs = std::filesystem;

using Result = sixbit::testing::CommandResult;
using sixbit::testing::slurp;

// OMP_WAIT_POLICY=passive: ctest runs two tests at once on 2 cores, where spinning OpenMP workers make the tiny
// model's small ops far slower (results do not depend on it).
Result run_sixbit(const std::string& args, const std::string& env = "") {
  // The synthetic tiny preset unless a test names another default: these tests are about the command, and must not
  // change meaning (or take minutes) when the shipped model is retrained. ShippedModel.IsWhatRunUsesByDefault covers the default.
  return sixbit::testing::run_sixbit_with_env("OMP_WAIT_POLICY=passive SIXBIT_MODEL=tiny " + env, args);
}

class RunCli : public sixbit::testing::TempDirTest {
 protected:
  nlohmann::json report(const std::string& out) const { return nlohmann::json::parse(slurp(dir_ / out / "report.json")); }
};

// A self-describing checkpoint in the shipped small model's format (reference/model/trained_model.hpp), shrunk to 2
// blocks and 4 frames so it runs in a second: synthetic weights, the world's vocabulary, sampler defaults.
void write_trained_checkpoint(const std::string& path) {
  const std::string cfg_json = R"({"preset": "small", "num_layers": 2, "latent_frames": 4})";
  const auto cfg = sixbit::model::config_from_json_text(cfg_json);
  const auto w = sixbit::model::synthetic_weights(cfg, 4);
  std::vector<sixbit::io::OwnedTensor> t;
  for (const auto& [name, shape] : sixbit::model::weight_shapes(cfg)) t.push_back(sixbit::io::make_f32_tensor(name, shape, w.at(name).data.data()));
  const auto vocab = sixbit::world::vocabulary();
  const auto tok = sixbit::model::gaussian_normals(5, int64_t(vocab.size()) * cfg.text_dim);
  const auto pos = sixbit::model::gaussian_normals(6, int64_t(cfg.text_len) * cfg.text_dim);
  t.push_back(sixbit::io::make_f32_tensor(sixbit::model::kTokenEmbeddingName, {int64_t(vocab.size()), cfg.text_dim}, tok.data()));
  t.push_back(sixbit::io::make_f32_tensor(sixbit::model::kPositionEmbeddingName, {cfg.text_len, cfg.text_dim}, pos.data()));
  sixbit::io::write_safetensors(path, t,
                                {{"sixbit.config", cfg_json},
                                 {"sixbit.vocab", nlohmann::json(vocab).dump()},
                                 {"sixbit.sampler", R"({"steps": 3, "shift": 3.0, "guidance": 4.0, "solver": "euler"})"}},
                                false);
}

// Everything of stdout but the last line (which names the output directory).
std::string body(const std::string& out) { return out.substr(0, out.rfind("\nwrote ")); }

}  // namespace

TEST_F(RunCli, DefaultRunWritesVideoReportAndPlots) {
  const Result r = run_sixbit("run --no-progress --out " + path("a"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("against the paper"), std::string::npos);
  for (const char* f : {"report.json", "timing.json", "precision_heatmap.png", "prompt_00/run.gif", "prompt_00/full.gif",
                        "prompt_00/frames/run_000.png", "prompt_00/frames/full_000.png"})
    EXPECT_GT(fs::file_size(dir_ / "a" / f), 50u) << f;
  const auto j = report("a");
  EXPECT_EQ(j["config"]["policy"], "w4a4-w4a8");
  EXPECT_EQ(j["memory"]["switchable_blocks"], 0) << "policy (b) holds NVFP4 weights only";
  EXPECT_LE(j["precision"]["avg_activation_bits"].get<double>(), 6.0);
  EXPECT_GT(j["memory"]["reduction_vs_bf16"].get<double>(), 1.0);
  EXPECT_EQ(j["targets"][0]["paper"], 1.92);
  const auto timing = nlohmann::json::parse(slurp(dir_ / "a" / "timing.json"));
  EXPECT_TRUE(timing["kernels"].is_null()) << "the emulator backend picks no kernels at run time";
  EXPECT_EQ(r.out.find("kernels:"), std::string::npos);
}

TEST_F(RunCli, SameSeedSameReportForAnyThreadCountAndSeedMatters) {
  const std::string args = "run --no-progress --steps 5 --cache-threshold 0.15 --out ";
  const Result one = run_sixbit(args + path("t1"), "OMP_NUM_THREADS=1");
  const Result two = run_sixbit(args + path("t2"), "OMP_NUM_THREADS=2");
  const Result again = run_sixbit(args + path("t3"), "OMP_NUM_THREADS=2");
  ASSERT_EQ(one.code, 0) << one.out;
  ASSERT_EQ(two.code, 0) << two.out;
  const std::string rep = slurp(dir_ / "t1" / "report.json");
  EXPECT_GT(rep.size(), 1000u);
  EXPECT_EQ(slurp(dir_ / "t2" / "report.json"), rep);
  EXPECT_EQ(slurp(dir_ / "t3" / "report.json"), rep);
  EXPECT_EQ(slurp(dir_ / "t1" / "prompt_00" / "run.gif"), slurp(dir_ / "t2" / "prompt_00" / "run.gif"));
  EXPECT_EQ(body(one.out), body(two.out));
  ASSERT_EQ(run_sixbit(args + path("s2") + " --seed 2").code, 0);
  EXPECT_NE(slurp(dir_ / "s2" / "report.json"), rep) << "the seed changes the noise";
}

TEST_F(RunCli, ThresholdExtremesAndTdcThresholdZero) {
  ASSERT_EQ(run_sixbit("run --no-progress --steps 4 --cache none --policy w4a4-w8a8 --threshold 0 --out " + path("int8")).code, 0);
  ASSERT_EQ(run_sixbit("run --no-progress --steps 4 --cache none --policy w4a4-w8a8 --threshold 1e300 --out " + path("nvfp4")).code, 0);
  for (const auto& [out, ch] : {std::pair<std::string, char>{"int8", '8'}, {"nvfp4", '4'}})
    for (const auto& s : report(out)["videos"][0]["steps"])
      for (char c : s["map"].get<std::string>()) EXPECT_EQ(c, ch) << out;
  EXPECT_EQ(report("int8")["precision"]["avg_activation_bits"], 8.0);
  EXPECT_EQ(report("nvfp4")["precision"]["avg_activation_bits"], 4.0);
  // TDC at threshold 0 runs its bookkeeping and skips nothing: the same video, bit for bit, as no cache.
  ASSERT_EQ(run_sixbit("run --no-progress --steps 4 --cache none --out " + path("nocache")).code, 0);
  ASSERT_EQ(run_sixbit("run --no-progress --steps 4 --cache tdc --cache-threshold 0 --out " + path("tdc0")).code, 0);
  ASSERT_EQ(run_sixbit("run --no-progress --steps 4 --cache tdc --cache-threshold 1e9 --cache-warmup 1 --out " + path("tdcbig")).code, 0);
  EXPECT_EQ(slurp(dir_ / "tdc0" / "prompt_00" / "frames" / "run_001.png"), slurp(dir_ / "nocache" / "prompt_00" / "frames" / "run_001.png"));
  EXPECT_EQ(report("tdc0")["videos"][0]["fidelity"], report("nocache")["videos"][0]["fidelity"]);
  EXPECT_EQ(report("tdc0")["precision"]["blocks_skipped"], 0);
  EXPECT_GT(report("tdc0")["memory"]["cache_peak_bytes_fp32"].get<int64_t>(), 0) << "the cache did run";
  EXPECT_GT(report("tdcbig")["precision"]["blocks_skipped"].get<int64_t>(), 0);
  EXPECT_NE(report("tdcbig")["videos"][0]["fidelity"], report("nocache")["videos"][0]["fidelity"]);
}

TEST_F(RunCli, NeverOverwritesWithoutOverwrite) {
  ASSERT_EQ(run_sixbit("run --no-progress --steps 2 --out " + path("o")).code, 0);
  const auto before = fs::last_write_time(dir_ / "o" / "report.json");
  const Result r = run_sixbit("run --no-progress --steps 3 --out " + path("o"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("refusing to overwrite"), std::string::npos) << r.out;
  EXPECT_EQ(fs::last_write_time(dir_ / "o" / "report.json"), before);
  EXPECT_EQ(run_sixbit("run --no-progress --steps 3 --overwrite --out " + path("o")).code, 0);
  EXPECT_EQ(report("o")["config"]["sampler"]["steps"], 3);
  { std::ofstream(path("file")) << "x"; }
  EXPECT_EQ(run_sixbit("run --no-progress --overwrite --out " + path("file")).code, 1);
}

TEST_F(RunCli, BadInputGetsAClearMessageAndLeavesNothing) {
  { std::ofstream(path("empty.txt")) << "# nothing\n\n"; }
  { std::ofstream(path("bad.json")) << R"({"preset": "tiny", "dimm": 3})"; }
  { std::ofstream(path("junk.json")) << "{not json"; }
  { std::ofstream(path("pred.json")) << R"({"kind": "sixbit.predictor", "version": 1, "global": {"a": 1, "c": 0, "r": 1, "r2": 1, "n": 2, "d_min": 0, "d_max": 1}, "blocks": []})"; }
  const struct {
    std::string args;
    int code;
    const char* message;
  } cases[] = {
      {"--policy bogus", 2, "--policy expects one of"},
      {"--budget 3", 2, "--budget expects a number in [4, 8]"},
      {"--budget 6 --threshold 0.1", 2, "not both"},
      {"--threshold -1", 2, "--threshold expects"},
      {"--threshold nan", 2, "--threshold expects"},
      {"--steps 0", 2, "--steps expects an integer"},
      {"--seed -1", 2, "--seed expects"},
      {"--shift 0", 2, "--shift expects"},
      {"--solver rk4", 2, "--solver expects one of"},
      {"--policy w8a8 --budget 6", 2, "switching policies"},
      {"--backend reference", 2, "full precision only"},
      {"--cache none --cache-threshold 0.1", 2, "needs a cache"},
      {"--prompt a --prompt b", 2, "given twice"},
      {"stray", 2, "unexpected argument"},
      {"--prompt ''", 1, "--prompt is empty"},
      {"--prompt 'one two three four five six seven eight nine'", 1, "takes at most 8"},
      {"--prompt \"$(printf 'a\\001b')\"", 1, "control character"},
      {"--prompts " + path("nothere.txt"), 1, "cannot open prompt file"},
      {"--prompts " + path("empty.txt"), 1, "no prompts"},
      {"--model nosuch", 1, "unknown dit preset 'nosuch'"},
      {"--model " + path("bad.json"), 1, "unknown field 'dimm'"},
      {"--model " + path("none.safetensors"), 1, "no such model file"},
      {"--predictor " + path("junk.json"), 1, "not valid JSON"},
      {"--predictor " + path("pred.json"), 1, "has 0 blocks, the model has 2"},
      {"--backend cuda", 1, "CUDA"},
  };
  for (const auto& c : cases) {
    const Result r = run_sixbit("run --no-progress --out " + path("never") + " " + c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    if (c.code == 1) {
      EXPECT_EQ(r.out.rfind("sixbit: error: "), r.out.find("sixbit: error: ")) << "one error line";
    } else {
      EXPECT_NE(r.out.find("usage: sixbit run"), std::string::npos) << c.args;
    }
    EXPECT_FALSE(fs::exists(path("never"))) << c.args << ": a refused run leaves no output directory";
  }
}

TEST_F(RunCli, TrainedModelFileIsTheDefaultWhenPresentWithPixelsAndAdherence) {
  write_trained_checkpoint(path("small.safetensors"));
  // $SIXBIT_MODEL names the default model, here a trained-format checkpoint written by the test.
  Result r = run_sixbit("run --no-progress --out " + path("m"), "SIXBIT_MODEL=" + path("small.safetensors"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("note:"), std::string::npos) << "no fallback note when the model is there";
  const auto j = report("m");
  EXPECT_EQ(j["config"]["model"]["trained"], true);
  EXPECT_EQ(j["config"]["sampler"]["steps"], 3) << "the checkpoint's sampler defaults";
  const auto& v = j["videos"][0];
  EXPECT_TRUE(v["fidelity"]["ssim"].is_array()) << "32x32 RGB frames: SSIM applies";
  EXPECT_EQ(v["condition_adherence"]["status"], "measured") << v["condition_adherence"].dump();
  EXPECT_TRUE(v["condition_adherence"]["run"].contains("color"));
  const std::string prompt = v["prompt"];
  EXPECT_NO_THROW(sixbit::world::parse_prompt(prompt)) << "the default prompt is a world prompt";
  // A prompt in the vocabulary but off the grammar runs, with adherence not applicable; an unknown word is refused.
  r = run_sixbit("run --no-progress --model " + path("small.safetensors") + " --prompt 'a red circle' --out " + path("m2"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(report("m2")["videos"][0]["condition_adherence"]["status"], "not applicable");
  r = run_sixbit("run --no-progress --model " + path("small.safetensors") + " --prompt 'a purple circle' --out " + path("m3"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("purple"), std::string::npos) << r.out;
  // Context from a file instead of a prompt; a context of the wrong width is refused naming the file.
  const auto ctx = sixbit::model::gaussian_normals(7, 3 * 64);
  sixbit::io::write_safetensors(path("ctx.safetensors"), {sixbit::io::make_f32_tensor("context", {3, 64}, ctx.data())}, {}, false);
  r = run_sixbit("run --no-progress --model " + path("small.safetensors") + " --context " + path("ctx.safetensors") + " --out " + path("m4"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(report("m4")["config"]["context_file"], path("ctx.safetensors"));
  r = run_sixbit("run --no-progress --context " + path("ctx.safetensors") + " --out " + path("m5"));  // tiny: text_dim 32
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("ctx.safetensors"), std::string::npos) << r.out;
  EXPECT_EQ(run_sixbit("run --context " + path("ctx.safetensors") + " --prompt 'a b' --out " + path("m6")).code, 2);
}

TEST_F(RunCli, CalibrateCompareAndCacheSweep) {
  Result r = run_sixbit("calibrate --no-progress --steps 3 --prompt 'a red circle' --out " + path("cal"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("global"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "cal" / "predictor.json"));
  EXPECT_EQ(run_sixbit("calibrate --backend reference --out " + path("cal2")).code, 2);
  EXPECT_EQ(run_sixbit("calibrate --no-progress --steps 3 --out " + path("cal")).code, 1) << "never overwrites";

  r = run_sixbit("compare --expect-identical --json " + path("cmp.json"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("no divergence"), std::string::npos) << r.out;
  const auto cmp = nlohmann::json::parse(slurp(path("cmp.json")));
  EXPECT_GT(cmp["ops"].get<int>(), 100);
  EXPECT_EQ(cmp["ops_differ"], 0);
  r = run_sixbit("compare --a emulator --b emulator --precision w4a4 --recipe modelopt");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(run_sixbit("compare --b reference --precision w4a4").code, 2);

  r = run_sixbit("cache-sweep --no-progress --steps 4 --points 3 --prompt 'a red circle' --targets 0.1,0.9");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("lowest error at equal skip rate"), std::string::npos) << r.out;
  EXPECT_EQ(run_sixbit("cache-sweep --caches tdc,magcache").code, 2);
  EXPECT_EQ(run_sixbit("cache-sweep --targets 2").code, 2);
}
