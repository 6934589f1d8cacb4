// Caption metrics over a corpus: each hypothesis (a tokenised sentence) is
// scored against its own references (several per image, as COCO has).
//
// corpus_bleu: BLEU-1..4 (Papineni et al. 2002) as NLTK's corpus_bleu
// computes it without smoothing: modified n-gram precisions summed over the
// corpus (each n-gram's count clipped by its largest count in any one
// reference; a hypothesis shorter than n adds 1 to the order's denominator,
// as in NLTK), their geometric mean with uniform weights, times the brevity
// penalty exp(1 - r / c) when c <= r (c: hypothesis words, r: the sum of each
// hypothesis's closest reference length, a tie going to the shorter). A
// corpus with no matching n-gram of some order scores 0 at that order and
// above; an empty corpus scores 0.
//
// cider_d: CIDEr-D (Vedantam et al. 2015) as the coco-caption scorer
// computes it: tf-idf vectors of 1- to 4-grams (document frequencies over
// the references of the corpus, idf = log(images) - log(max(1, df))), each
// order's cosine with the hypothesis's counts clipped at the reference's,
// a Gaussian length penalty (sigma 6, length = bigram count), averaged over
// orders and references, times 10; the corpus figure is the mean over images.
//
// exact_match: the share of hypotheses equal to one of their references.
// Pure functions; the sizes of references and hypotheses must agree (a
// caller bug aborts).
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

namespace ringmaster::training {

using Sentence = std::vector<std::string>;

std::array<double, 4> corpus_bleu(const std::vector<std::vector<Sentence>>& references,
                                  const std::vector<Sentence>& hypotheses);
double cider_d(const std::vector<std::vector<Sentence>>& references,
               const std::vector<Sentence>& hypotheses);

// The same in parts, for sums over batches and ranks: BLEU's counts add
// (flat: matched 1..4, total 1..4, hypothesis words, reference words), and
// a CIDEr-D corpus (its document frequencies, from every image's
// references) scores one image at a time.
struct BleuCounts {
  std::array<double, 10> v{};
  void add(const std::vector<Sentence>& references, const Sentence& hypothesis);
  std::array<double, 4> bleu() const;
};
class CiderCorpus {
 public:
  explicit CiderCorpus(const std::vector<std::vector<Sentence>>& references);
  double score(const std::vector<Sentence>& references, const Sentence& hypothesis) const;

 private:
  std::map<std::vector<std::string>, double> document_frequency_;
  double log_images_ = 0.0;
};
double exact_match(const std::vector<std::vector<Sentence>>& references,
                   const std::vector<Sentence>& hypotheses);

// Words split on spaces (runs of spaces give no empty words).
Sentence split_words(const std::string& text);

}  // namespace ringmaster::training
