// The small model's prompt encoder and self-describing checkpoint (reference/model/prompt_encoder.hpp,
// trained_model.hpp): tokenization, context rows, and a clear error for every malformed part of a file. The PyTorch
// side (wan_dit.PromptEncoder) is compared bit for bit in tests/oracle/train_small_check.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "common/check.hpp"
#include "reference/model/checkpoint.hpp"
#include "reference/model/trained_model.hpp"
#include "world_test_model.hpp"

namespace sm = sixbit::model;
namespace fs = std::filesystem;

namespace {
sm::PromptEncoder make_encoder(int text_len = 4, int dim = 3) {
  const std::vector<std::string> vocab = {"<empty>", "a", "red", "circle"};
  sm::Tensor tok{{4, dim}, {}}, pos{{text_len, dim}, {}};
  for (int i = 0; i < 4 * dim; ++i) tok.data.push_back(float(i) * 0.25f);
  for (int i = 0; i < text_len * dim; ++i) pos.data.push_back(100.0f + float(i));
  return sm::PromptEncoder(vocab, tok, pos);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sixbit::Error& e) {
    return e.what();
  }
  return "";
}

struct TempFile {
  std::string path = (fs::temp_directory_path() / ("sixbit_pe_" + std::to_string(::getpid()) + "_" +
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                                                   ".safetensors")).string();
  ~TempFile() { fs::remove(path); }
};
}  // namespace

TEST(PromptEncoder, TokenizesLowerCasedWordsAndAddsPositions) {
  const sm::PromptEncoder e = make_encoder();
  EXPECT_EQ(e.tokenize("a red circle"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(e.tokenize("  A\tRED  circle \n"), (std::vector<int>{1, 2, 3}));
  const sm::Mat m = e.encode("circle a");
  ASSERT_EQ(m.rows, 2);
  ASSERT_EQ(m.cols, 3);
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(m.row(0)[j], float(3 * 3 + j) * 0.25f + 100.0f + float(j));      // token 3 at position 0
    EXPECT_EQ(m.row(1)[j], float(1 * 3 + j) * 0.25f + 100.0f + float(3 + j));  // token 1 at position 1
  }
}

TEST(PromptEncoder, EmptyPromptIsTheReservedTokenAtPositionZero) {
  const sm::PromptEncoder e = make_encoder();
  EXPECT_EQ(e.tokenize(""), (std::vector<int>{0}));
  EXPECT_EQ(e.tokenize(" \t "), (std::vector<int>{0}));
  const sm::Mat m = e.encode("");
  ASSERT_EQ(m.rows, 1);
  EXPECT_EQ(m.row(0)[2], 0.5f + 102.0f);
}

TEST(PromptEncoder, BadPromptsAreClearErrors) {
  const sm::PromptEncoder e = make_encoder();
  EXPECT_NE(error_of([&] { e.tokenize("a blue circle"); }).find("unknown word 'blue' (vocabulary: a red circle)"), std::string::npos);
  EXPECT_NE(error_of([&] { e.tokenize("a <empty>"); }).find("reserved"), std::string::npos);
  EXPECT_NE(error_of([&] { e.tokenize("a a a a a"); }).find("has 5 words, the model takes at most 4"), std::string::npos);
}

TEST(PromptEncoder, MalformedTablesAreRefused) {
  auto make = [](std::vector<std::string> vocab, std::vector<int64_t> ts, std::vector<int64_t> ps, float poison = 0) {
    sm::Tensor tok{ts, std::vector<float>(size_t(ts[0] * ts[1]), 0.5f)}, pos{ps, std::vector<float>(size_t(ps[0] * ps[1]), 1.0f)};
    tok.data[0] = poison == 0 ? 0.5f : poison;
    return error_of([&] { sm::PromptEncoder(vocab, tok, pos); });
  };
  EXPECT_NE(make({"a", "b"}, {2, 3}, {4, 3}).find("lacks the reserved '<empty>'"), std::string::npos);
  EXPECT_NE(make({"<empty>", "a", "a"}, {3, 3}, {4, 3}).find("appears twice"), std::string::npos);
  EXPECT_NE(make({"<empty>", "A"}, {2, 3}, {4, 3}).find("upper case"), std::string::npos);
  EXPECT_NE(make({"<empty>", "a b"}, {2, 3}, {4, 3}).find("whitespace"), std::string::npos);
  EXPECT_NE(make({"<empty>", "a"}, {3, 3}, {4, 3}).find("expected [2, text_dim]"), std::string::npos);
  EXPECT_NE(make({"<empty>", "a"}, {2, 3}, {4, 5}).find("expected [text_len, 3]"), std::string::npos);
  EXPECT_NE(make({"<empty>", "a"}, {2, 3}, {4, 3}, NAN).find("non-finite"), std::string::npos);
  EXPECT_EQ(make({"<empty>", "a"}, {2, 3}, {4, 3}), "");
}

TEST(TrainedModel, LoadsEverythingFromOneFile) {
  TempFile f;
  sixbit::testing::write_world_test_model(f.path);
  const sm::TrainedModel m = sm::load_trained_model(f.path);
  EXPECT_EQ(m.config.name, "world-test");
  EXPECT_EQ(m.config.tokens(), 128);
  EXPECT_EQ(m.encoder.vocabulary(), sixbit::world::vocabulary());
  EXPECT_EQ(m.encoder.text_len(), 16);
  EXPECT_EQ(m.sampler.steps, 2);
  EXPECT_EQ(m.sampler.solver, "euler");
  EXPECT_EQ(m.weights.at("blocks.1.ffn.2.weight").data, sm::synthetic_weights(m.config, 5).at("blocks.1.ffn.2.weight").data);
  // One short sample end to end: finite, deterministic, prompt-dependent.
  sm::ReferenceOps ops;
  const sm::SampleOptions o = sm::SampleOptions::from(m.sampler);
  const auto x = sm::sample_video(m, "a red circle moving left slowly on a dark background", 7, o, ops);
  const auto y = sm::sample_video(m, "a red circle moving left slowly on a dark background", 7, o, ops);
  const auto z = sm::sample_video(m, "a blue square moving up quickly on a light background", 7, o, ops);
  ASSERT_EQ(x.size(), size_t(3 * 16 * 32 * 32));
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(TrainedModel, BrokenMetadataNamesTheProblem) {
  TempFile f;
  struct Case {
    std::map<std::string, std::string> meta;
    int64_t vocab_delta;
    const char* expect;
  };
  const Case cases[] = {
      {{{"sixbit.config", ""}}, 0, "no \"sixbit.config\" metadata"},
      {{{"sixbit.config", R"({"preset": "small", "dim": 30})"}}, 0, "metadata \"sixbit.config\": dit config: num_heads"},
      {{{"sixbit.config", "{"}}, 0, "invalid JSON"},
      {{{"sixbit.vocab", ""}}, 0, "no \"sixbit.vocab\" metadata"},
      {{{"sixbit.vocab", R"({"a": 1})"}}, 0, "must be a JSON list of words"},
      {{{"sixbit.vocab", R"(["<empty>", 3])"}}, 0, "non-string entry"},
      {{{"sixbit.sampler", ""}}, 0, "no \"sixbit.sampler\" metadata"},
      {{{"sixbit.sampler", R"({"steps": 0})"}}, 0, "steps must be in [1, 1000]"},
      {{{"sixbit.sampler", R"({"shift": -1})"}}, 0, "shift must be > 0"},
      {{{"sixbit.sampler", R"({"stepz": 3})"}}, 0, "unknown field 'stepz'"},
      {{{"sixbit.config", R"({"preset": "small", "text_dim": 8})"}}, 0, "context, the config takes [16, 8]"},
      {{}, 1, "expected [22, text_dim] for a vocabulary of 22 words"},
  };
  for (const Case& c : cases) {
    sixbit::testing::write_world_test_model(f.path, 5, c.meta, c.vocab_delta);
    const std::string msg = error_of([&] { sm::load_trained_model(f.path); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.expect << " -> '" << msg << "'";
  }
  EXPECT_NE(error_of([&] { sm::load_trained_model("/nonexistent.safetensors"); }), "");
}
