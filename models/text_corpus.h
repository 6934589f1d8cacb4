// Text for sequence models: a vocabulary of tokens, Debian's fortunes corpus
// (the fortune-mod quotes) and its cut into fixed windows of character ids
// for a character-level language model.
//
// Characters are bytes: the corpus is ASCII but for a handful of bytes, and
// a byte vocabulary needs no decoder that could fail. The vocabulary is built
// from the training quotes only; a byte seen only in test quotes maps to
// <unk>. Each quote ends with the <end> token, so a model learns where a
// quote stops.
//
// Errors: a missing or unreadable folder, or one without quotes, throws
// ops::Error naming it. Nothing here is shared or mutable after building.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/dataset.h"

namespace ringmaster::models {

class Vocabulary {
 public:
  // Special tokens, in this order, ids 0.. of every vocabulary.
  static constexpr int64_t kPad = 0, kUnk = 1, kStart = 2, kEnd = 3;
  static const std::vector<std::string>& special_tokens();  // "<pad>" "<unk>" "<start>" "<end>"

  // The special tokens, then `tokens` (distinct, none special) in order.
  explicit Vocabulary(const std::vector<std::string>& tokens);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t id) const;  // RM_CHECKed id
  int64_t id(const std::string& token) const;  // kUnk when unknown
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

// The quotes of every fortune file in `folder` (regular files with no '.' in
// their name, in name order; quotes are separated by lines holding only
// "%"), each without its trailing newline; empty ones are dropped.
std::vector<std::string> load_fortunes(const std::string& folder);

// A vocabulary of the bytes that occur in `texts`, in byte order.
Vocabulary byte_vocabulary(const std::vector<std::string>& texts);

// The ids of `text`'s bytes (unknown ones: <unk>).
std::vector<int64_t> encode_bytes(const Vocabulary& v, const std::string& text);
// The text of ids: byte tokens as themselves, <end> as "\n", other special
// tokens dropped.
std::string decode_bytes(const Vocabulary& v, const std::vector<int64_t>& ids);

// A vocabulary of the words of `sentences` (split on spaces) seen at least
// min_count times, sorted.
Vocabulary word_vocabulary(const std::vector<std::vector<std::string>>& sentences,
                           int64_t min_count = 1);
// `sentence` without the words v does not know.
std::string drop_unknown_words(const Vocabulary& v, const std::string& sentence);

// Captions as token ids: (N, R, L) i64, each sentence <start> words <end>
// then <pad> to L = the longest sentence + 2. Every image has R sentences
// (a caller bug aborts otherwise).
ops::Tensor encode_captions(const Vocabulary& v,
                            const std::vector<std::vector<std::string>>& sentences);
// The words of ids up to the first <end> (other special tokens skipped),
// joined by spaces.
std::string decode_words(const Vocabulary& v, const std::vector<int64_t>& ids);

// The texts' ids, each followed by <end>, as one stream cut into windows of
// seq_len + 1 tokens that overlap by one (window k starts at k * seq_len):
// a window's first seq_len tokens are the input and its last seq_len the
// targets. Gives tokens (N, seq_len + 1) i64, no images, labels 0 and
// num_classes = the vocabulary's size. Throws ops::Error when the texts make
// no whole window.
Dataset make_text_windows(const std::vector<std::string>& texts,
                          std::shared_ptr<const Vocabulary> vocab, int64_t seq_len);

}  // namespace ringmaster::models
