// BLEU, CIDEr-D and exact match (see caption_metrics.h).
#include "training/caption_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

using NgramCounts = std::map<std::vector<std::string>, double>;

// Counts of the n-grams of order `n` (or of orders 1..4 when n is 0).
NgramCounts ngrams(const Sentence& s, size_t n) {
  NgramCounts out;
  const size_t lo = n == 0 ? 1 : n, hi = n == 0 ? 4 : n;
  for (size_t k = lo; k <= hi; ++k)
    for (size_t i = 0; i + k <= s.size(); ++i)
      ++out[std::vector<std::string>(s.begin() + static_cast<std::ptrdiff_t>(i),
                                     s.begin() + static_cast<std::ptrdiff_t>(i + k))];
  return out;
}

void check_sizes(const std::vector<std::vector<Sentence>>& refs,
                 const std::vector<Sentence>& hyps) {
  RM_CHECK(refs.size() == hyps.size(), "caption metrics: ", refs.size(), " reference sets for ",
           hyps.size(), " hypotheses");
}

// The reference length closest to `c` (a tie: the shorter one).
size_t closest_length(const std::vector<Sentence>& refs, size_t c) {
  size_t best = refs.empty() ? 0 : refs[0].size();
  for (const Sentence& r : refs) {
    const auto d = [c](size_t l) { return l > c ? l - c : c - l; };
    if (d(r.size()) < d(best) || (d(r.size()) == d(best) && r.size() < best)) best = r.size();
  }
  return best;
}

}  // namespace

void BleuCounts::add(const std::vector<Sentence>& references, const Sentence& h) {
  v[8] += static_cast<double>(h.size());
  v[9] += static_cast<double>(closest_length(references, h.size()));
  for (size_t n = 1; n <= 4; ++n) {
    std::map<std::vector<std::string>, double> most;  // largest count in one reference
    for (const Sentence& ref : references)
      for (const auto& [g, k] : ngrams(ref, n)) most[g] = std::max(most[g], k);
    double count = 0.0;
    for (const auto& [g, k] : ngrams(h, n)) {
      const auto it = most.find(g);
      v[n - 1] += std::min(k, it == most.end() ? 0.0 : it->second);
      count += k;
    }
    v[4 + n - 1] += std::max(1.0, count);  // NLTK's: a hypothesis shorter than n counts 1
  }
}

std::array<double, 4> BleuCounts::bleu() const {
  std::array<double, 4> out{};
  const double c = v[8], r = v[9];
  if (c == 0.0) return out;
  const double brevity = c > r ? 1.0 : std::exp(1.0 - r / c);
  double log_sum = 0.0;
  for (size_t n = 0; n < 4; ++n) {
    if (v[n] == 0.0) break;  // this order and the higher ones stay 0
    log_sum += std::log(v[n] / v[4 + n]);
    out[n] = brevity * std::exp(log_sum / static_cast<double>(n + 1));
  }
  return out;
}

std::array<double, 4> corpus_bleu(const std::vector<std::vector<Sentence>>& references,
                                  const std::vector<Sentence>& hypotheses) {
  check_sizes(references, hypotheses);
  BleuCounts counts;
  for (size_t i = 0; i < hypotheses.size(); ++i) counts.add(references[i], hypotheses[i]);
  return counts.bleu();
}

CiderCorpus::CiderCorpus(const std::vector<std::vector<Sentence>>& references)
    : log_images_(std::log(static_cast<double>(std::max<size_t>(references.size(), 1)))) {
  for (const auto& refs : references) {
    std::set<std::vector<std::string>> seen;
    for (const Sentence& ref : refs)
      for (const auto& [g, k] : ngrams(ref, 0)) seen.insert(g);
    for (const auto& g : seen) ++document_frequency_[g];
  }
}

double CiderCorpus::score(const std::vector<Sentence>& references,
                          const Sentence& hypothesis) const {
  struct Vector {
    std::array<std::map<std::vector<std::string>, double>, 4> by_order;
    std::array<double, 4> norm{};
    double length = 0.0;  // bigrams
  };
  const auto vectorise = [&](const Sentence& s) {
    Vector v;
    for (const auto& [g, k] : ngrams(s, 0)) {
      const auto it = document_frequency_.find(g);
      const double df = std::log(std::max(1.0, it == document_frequency_.end() ? 0.0 : it->second));
      const size_t n = g.size() - 1;
      v.by_order[n][g] = k * (log_images_ - df);
      v.norm[n] += v.by_order[n][g] * v.by_order[n][g];
      if (n == 1) v.length += k;
    }
    for (double& x : v.norm) x = std::sqrt(x);
    return v;
  };
  if (references.empty()) return 0.0;
  const Vector h = vectorise(hypothesis);
  double score = 0.0;
  for (const Sentence& ref : references) {
    const Vector r = vectorise(ref);
    const double delta = h.length - r.length;
    double orders = 0.0;
    for (size_t n = 0; n < 4; ++n) {
      double val = 0.0;
      for (const auto& [g, x] : h.by_order[n]) {
        const auto it = r.by_order[n].find(g);
        const double y = it == r.by_order[n].end() ? 0.0 : it->second;
        val += std::min(x, y) * y;
      }
      if (h.norm[n] != 0.0 && r.norm[n] != 0.0) val /= h.norm[n] * r.norm[n];
      orders += val * std::exp(-(delta * delta) / (2.0 * 6.0 * 6.0));
    }
    score += orders / 4.0;
  }
  return score / static_cast<double>(references.size()) * 10.0;
}

double cider_d(const std::vector<std::vector<Sentence>>& references,
               const std::vector<Sentence>& hypotheses) {
  check_sizes(references, hypotheses);
  if (hypotheses.empty()) return 0.0;
  const CiderCorpus corpus(references);
  double sum = 0.0;
  for (size_t i = 0; i < hypotheses.size(); ++i) sum += corpus.score(references[i], hypotheses[i]);
  return sum / static_cast<double>(hypotheses.size());
}

double exact_match(const std::vector<std::vector<Sentence>>& references,
                   const std::vector<Sentence>& hypotheses) {
  check_sizes(references, hypotheses);
  if (hypotheses.empty()) return 0.0;
  double hits = 0.0;
  for (size_t i = 0; i < hypotheses.size(); ++i)
    hits +=
        std::find(references[i].begin(), references[i].end(), hypotheses[i]) != references[i].end();
  return hits / static_cast<double>(hypotheses.size());
}

Sentence split_words(const std::string& text) {
  Sentence out;
  std::string word;
  for (const char ch : text) {
    if (ch == ' ') {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

}  // namespace ringmaster::training
