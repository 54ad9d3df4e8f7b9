// sixbit/reference/model/prompt_encoder.hpp: the small model's own text encoder (docs/model-card.md).
//
// A fixed vocabulary; the prompt is lower-cased and split on whitespace, each word looked up, and context row i =
// token_embedding[id_i] + position_embedding[i] (fp32), at most text_len words. The empty prompt (the unconditional
// pass of classifier-free guidance) is one row of the reserved "<empty>" token at position 0. Wan's text_embedding
// MLP then maps text_dim -> dim as for any context. Mirrored by wan_dit.PromptEncoder / small_model.tokenize.
#pragma once

#include <string>
#include <vector>

#include "reference/model/config.hpp"
#include "reference/model/ops.hpp"
#include "reference/model/weights.hpp"

namespace sixbit::model {

inline constexpr const char* kEmptyToken = "<empty>";
inline constexpr const char* kTokenEmbeddingName = "prompt_encoder.token_embedding.weight";        // [vocab, text_dim]
inline constexpr const char* kPositionEmbeddingName = "prompt_encoder.position_embedding.weight";  // [text_len, text_dim]

class PromptEncoder {
 public:
  // Checks: a non-empty vocabulary of distinct words without whitespace or upper case, containing "<empty>";
  // token_embedding [vocab, text_dim], position_embedding [text_len, text_dim], all values finite.
  PromptEncoder(std::vector<std::string> vocab, Tensor token_embedding, Tensor position_embedding);

  // Token ids of a prompt: sixbit::Error for an unknown word (the message lists the vocabulary), for the reserved
  // "<empty>" written out, or for more than text_len words. No words -> {id of "<empty>"}.
  std::vector<int> tokenize(const std::string& prompt) const;
  // Context [n, text_dim] for dit_forward.
  Mat encode(const std::string& prompt) const;

  const std::vector<std::string>& vocabulary() const { return vocab_; }
  int text_len() const { return int(position_.shape[0]); }
  int text_dim() const { return int(token_.shape[1]); }

 private:
  std::vector<std::string> vocab_;
  Tensor token_, position_;
};

}  // namespace sixbit::model
