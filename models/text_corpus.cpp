// Vocabulary, fortunes and text windows (see text_corpus.h).
#include "models/text_corpus.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "ops/check.h"

namespace ringmaster::models {

const std::vector<std::string>& Vocabulary::special_tokens() {
  static const std::vector<std::string> s = {"<pad>", "<unk>", "<start>", "<end>"};
  return s;
}

Vocabulary::Vocabulary(const std::vector<std::string>& tokens) : tokens_(special_tokens()) {
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const bool fresh = ids_.emplace(tokens_[i], static_cast<int64_t>(i)).second;
    RM_CHECK(fresh, "vocabulary token \"", tokens_[i], "\" given twice");
  }
}

const std::string& Vocabulary::token(int64_t id) const {
  RM_CHECK(id >= 0 && id < size(), "token id ", id, " outside a vocabulary of ", size());
  return tokens_[static_cast<size_t>(id)];
}

int64_t Vocabulary::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnk : it->second;
}

namespace {

// The quotes of one fortune file.
void read_quotes(const std::filesystem::path& file, std::vector<std::string>& out) {
  std::ifstream in(file, std::ios::binary);
  RM_THROW_IF(!in, file.string(), ": cannot be opened");
  std::string line, quote;
  auto flush = [&] {
    if (!quote.empty() && quote.back() == '\n') quote.pop_back();
    if (!quote.empty()) out.push_back(std::move(quote));
    quote.clear();
  };
  while (std::getline(in, line)) {
    if (line == "%") {
      flush();
      continue;
    }
    quote += line;
    quote += '\n';
  }
  RM_THROW_IF(in.bad(), file.string(), ": read error");
  flush();
}

}  // namespace

std::vector<std::string> load_fortunes(const std::string& folder) {
  std::error_code ec;
  RM_THROW_IF(!std::filesystem::is_directory(folder, ec), folder,
              ": not a folder of fortune files (Debian's fortunes package installs them in "
              "/usr/share/games/fortunes; scripts/install-deps.sh installs it)");
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.find('.') == std::string::npos) files.push_back(e.path());
  }
  RM_THROW_IF(ec, folder, ": cannot be listed: ", ec.message());
  std::sort(files.begin(), files.end());
  std::vector<std::string> quotes;
  for (const auto& f : files) read_quotes(f, quotes);
  RM_THROW_IF(quotes.empty(), folder, ": no fortune files with quotes (files without a '.' in ",
              "their name, quotes separated by lines of \"%\")");
  return quotes;
}

Vocabulary byte_vocabulary(const std::vector<std::string>& texts) {
  std::array<bool, 256> seen{};
  for (const std::string& t : texts)
    for (const char c : t) seen[static_cast<unsigned char>(c)] = true;
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b)
    if (seen[static_cast<size_t>(b)]) tokens.emplace_back(1, static_cast<char>(b));
  return Vocabulary(tokens);
}

std::vector<int64_t> encode_bytes(const Vocabulary& v, const std::string& text) {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (const char c : text) ids.push_back(v.id(std::string(1, c)));
  return ids;
}

std::string decode_bytes(const Vocabulary& v, const std::vector<int64_t>& ids) {
  std::string out;
  for (const int64_t id : ids) {
    if (id == Vocabulary::kEnd) out += '\n';
    if (id < static_cast<int64_t>(Vocabulary::special_tokens().size())) continue;
    out += v.token(id);
  }
  return out;
}

namespace {

std::vector<std::string> words_of(const std::string& sentence) {
  std::vector<std::string> out;
  std::string w;
  for (const char c : sentence + " ") {
    if (c != ' ') {
      w += c;
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  return out;
}

}  // namespace

Vocabulary word_vocabulary(const std::vector<std::vector<std::string>>& sentences,
                           int64_t min_count) {
  std::map<std::string, int64_t> counts;
  for (const auto& set : sentences)
    for (const std::string& s : set)
      for (std::string& w : words_of(s)) ++counts[std::move(w)];
  std::vector<std::string> words;
  for (const auto& [w, k] : counts)
    if (k >= min_count &&
        std::find(Vocabulary::special_tokens().begin(), Vocabulary::special_tokens().end(), w) ==
            Vocabulary::special_tokens().end())
      words.push_back(w);
  return Vocabulary(words);
}

std::string drop_unknown_words(const Vocabulary& v, const std::string& sentence) {
  std::string out;
  for (const std::string& w : words_of(sentence))
    if (v.id(w) != Vocabulary::kUnk) out += (out.empty() ? "" : " ") + w;
  return out;
}

ops::Tensor encode_captions(const Vocabulary& v,
                            const std::vector<std::vector<std::string>>& sentences) {
  const auto n = static_cast<int64_t>(sentences.size());
  const auto r = n > 0 ? static_cast<int64_t>(sentences[0].size()) : 0;
  std::vector<std::vector<int64_t>> ids;
  size_t longest = 0;
  for (const auto& set : sentences) {
    RM_CHECK(static_cast<int64_t>(set.size()) == r, "captions: ", set.size(), " sentences for an ",
             "image, ", r, " for the first");
    for (const std::string& s : set) {
      ids.emplace_back(1, Vocabulary::kStart);
      for (const std::string& w : words_of(s)) ids.back().push_back(v.id(w));
      ids.back().push_back(Vocabulary::kEnd);
      longest = std::max(longest, ids.back().size());
    }
  }
  const auto l = static_cast<int64_t>(longest);
  ops::Tensor out = ops::Tensor::zeros({n, r, l}, ops::DType::i64);  // kPad is 0
  int64_t* dst = out.data<int64_t>();
  for (size_t i = 0; i < ids.size(); ++i)
    std::copy(ids[i].begin(), ids[i].end(), dst + static_cast<int64_t>(i) * l);
  return out;
}

std::string decode_words(const Vocabulary& v, const std::vector<int64_t>& ids) {
  std::string out;
  for (const int64_t id : ids) {
    if (id == Vocabulary::kEnd) break;
    if (id < static_cast<int64_t>(Vocabulary::special_tokens().size())) continue;
    out += (out.empty() ? "" : " ") + v.token(id);
  }
  return out;
}

Dataset make_text_windows(const std::vector<std::string>& texts,
                          std::shared_ptr<const Vocabulary> vocab, int64_t seq_len) {
  RM_THROW_IF(seq_len < 1, "text windows: seq_len must be >= 1, got ", seq_len);
  std::vector<int64_t> stream;
  for (const std::string& t : texts) {
    const std::vector<int64_t> ids = encode_bytes(*vocab, t);
    stream.insert(stream.end(), ids.begin(), ids.end());
    stream.push_back(Vocabulary::kEnd);
  }
  const int64_t total = static_cast<int64_t>(stream.size());
  const int64_t n = total > seq_len ? (total - 1) / seq_len : 0;
  RM_THROW_IF(n == 0, "text windows: ", total, " tokens make no window of ", seq_len + 1);
  Dataset ds;
  ds.tokens = ops::Tensor::empty({n, seq_len + 1}, ops::DType::i64);
  int64_t* dst = ds.tokens.data<int64_t>();
  for (int64_t k = 0; k < n; ++k)
    std::copy_n(stream.begin() + k * seq_len, seq_len + 1, dst + k * (seq_len + 1));
  ds.labels.assign(static_cast<size_t>(n), 0);
  ds.num_classes = static_cast<int>(vocab->size());
  ds.vocab = std::move(vocab);
  return ds;
}

}  // namespace ringmaster::models
