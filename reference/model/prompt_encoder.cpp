// sixbit/reference/model/prompt_encoder.cpp: see prompt_encoder.hpp.
#include "reference/model/prompt_encoder.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "common/check.hpp"
#include "reference/io/tensor_file.hpp"

namespace sixbit::model {

namespace {
std::string vocab_list(const std::vector<std::string>& vocab) {
  std::string s;
  for (const auto& w : vocab)
    if (w != kEmptyToken) s += (s.empty() ? "" : " ") + w;
  return s;
}

void check_finite(const Tensor& t, const char* name) {
  for (size_t i = 0; i < t.data.size(); ++i)
    SIXBIT_CHECK(std::isfinite(t.data[i]), "prompt encoder: ", name, " has a non-finite value at element ", i);
}
}  // namespace

PromptEncoder::PromptEncoder(std::vector<std::string> vocab, Tensor token_embedding, Tensor position_embedding)
    : vocab_(std::move(vocab)), token_(std::move(token_embedding)), position_(std::move(position_embedding)) {
  SIXBIT_CHECK(!vocab_.empty(), "prompt encoder: empty vocabulary");
  std::set<std::string> seen;
  for (const auto& w : vocab_) {
    SIXBIT_CHECK(!w.empty(), "prompt encoder: empty word in the vocabulary");
    for (unsigned char c : w)
      SIXBIT_CHECK(!std::isspace(c) && !std::isupper(c), "prompt encoder: vocabulary word '", w,
                   "' has whitespace or upper case (prompts are lower-cased and split on whitespace)");
    SIXBIT_CHECK(seen.insert(w).second, "prompt encoder: word '", w, "' appears twice in the vocabulary");
  }
  SIXBIT_CHECK(seen.count(kEmptyToken), "prompt encoder: the vocabulary lacks the reserved '", kEmptyToken, "' token");
  SIXBIT_CHECK(token_.shape.size() == 2 && token_.shape[0] == int64_t(vocab_.size()) && token_.shape[1] > 0,
               "prompt encoder: ", kTokenEmbeddingName, " has shape ", io::shape_string(token_.shape), ", expected [",
               vocab_.size(), ", text_dim] for a vocabulary of ", vocab_.size(), " words");
  SIXBIT_CHECK(position_.shape.size() == 2 && position_.shape[0] > 0 && position_.shape[1] == token_.shape[1],
               "prompt encoder: ", kPositionEmbeddingName, " has shape ", io::shape_string(position_.shape),
               ", expected [text_len, ", token_.shape[1], "]");
  SIXBIT_CHECK(int64_t(token_.data.size()) == token_.numel() && int64_t(position_.data.size()) == position_.numel(),
               "prompt encoder: tensor data does not match its shape");
  check_finite(token_, kTokenEmbeddingName);
  check_finite(position_, kPositionEmbeddingName);
}

std::vector<int> PromptEncoder::tokenize(const std::string& prompt) const {
  std::string lower = prompt;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  std::istringstream in(lower);
  std::vector<int> ids;
  for (std::string w; in >> w;) {
    SIXBIT_CHECK(w != kEmptyToken, "prompt '", prompt, "': '", kEmptyToken, "' is reserved for the empty prompt");
    const auto it = std::find(vocab_.begin(), vocab_.end(), w);
    SIXBIT_CHECK(it != vocab_.end(), "prompt '", prompt, "': unknown word '", w, "' (vocabulary: ", vocab_list(vocab_),
                 ")");
    ids.push_back(int(it - vocab_.begin()));
  }
  SIXBIT_CHECK(int(ids.size()) <= text_len(), "prompt '", prompt, "' has ", ids.size(), " words, the model takes at most ",
               text_len());
  if (ids.empty()) ids.push_back(int(std::find(vocab_.begin(), vocab_.end(), kEmptyToken) - vocab_.begin()));
  return ids;
}

Mat PromptEncoder::encode(const std::string& prompt) const {
  const std::vector<int> ids = tokenize(prompt);
  const int64_t d = text_dim();
  Mat ctx(int64_t(ids.size()), d);
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* tok = token_.data.data() + ids[i] * d;
    const float* pos = position_.data.data() + int64_t(i) * d;
    for (int64_t j = 0; j < d; ++j) ctx.row(int64_t(i))[j] = tok[j] + pos[j];
  }
  return ctx;
}

}  // namespace sixbit::model
