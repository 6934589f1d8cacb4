// Caption metrics: BLEU-1..4 equal NLTK's corpus_bleu (Debian's
// python3-nltk, run here on the same fixed corpus); CIDEr-D and exact match
// on cases worked by hand.
#include "training/caption_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_dir.h"

namespace ringmaster::training {
namespace {

std::vector<std::vector<Sentence>> refs_of(const std::vector<std::vector<std::string>>& texts) {
  std::vector<std::vector<Sentence>> out;
  for (const auto& set : texts) {
    out.emplace_back();
    for (const std::string& t : set) out.back().push_back(split_words(t));
  }
  return out;
}

std::vector<Sentence> hyps_of(const std::vector<std::string>& texts) {
  std::vector<Sentence> out;
  for (const std::string& t : texts) out.push_back(split_words(t));
  return out;
}

// A corpus with several references per image, partial matches, a short and
// a long hypothesis, and one of two words.
const std::vector<std::vector<std::string>> kRefs = {
    {"a shirt on the left of a bag on a striped background", "a bag and a shirt on stripes",
     "on a striped background a shirt is left of a bag"},
    {"two sneakers below a dress", "a dress above two sneakers on a plain background"},
    {"a coat", "one coat alone on a dotted background", "a single coat"},
    {"a sandal to the right of a pullover", "a pullover and a sandal"}};
const std::vector<std::string> kHyps = {"a shirt on the left of a bag on stripes",
                                        "a dress above two sneakers", "a coat",
                                        "a pullover left of a sandal on a plain plain background"};

TEST(CaptionMetrics, BleuEqualsNltksCorpusBleu) {
  if (std::system("/usr/bin/python3 -c 'import nltk' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-nltk missing: run scripts/install-deps.sh";
  const auto dir = testing_support::fresh_test_dir("bleu");
  const std::string in = (dir / "corpus.json").string(), out = (dir / "nltk.json").string();
  std::ofstream(in) << nlohmann::json({{"refs", kRefs}, {"hyps", kHyps}}).dump();
  const std::string script =
      "import json,sys\n"
      "from nltk.translate.bleu_score import corpus_bleu\n"
      "d=json.load(open(sys.argv[1]))\n"
      "r=[[s.split() for s in rs] for rs in d['refs']]\n"
      "h=[s.split() for s in d['hyps']]\n"
      "w=[(1,0,0,0),(0.5,0.5,0,0),(1/3,1/3,1/3,0),(0.25,0.25,0.25,0.25)]\n"
      "json.dump([corpus_bleu(r,h,weights=x) for x in w],open(sys.argv[2],'w'))\n";
  std::ofstream(dir / "bleu.py") << script;
  ASSERT_EQ(std::system(
                ("/usr/bin/python3 " + (dir / "bleu.py").string() + " " + in + " " + out).c_str()),
            0);
  const std::vector<double> nltk = nlohmann::json::parse(std::ifstream(out));
  const std::array<double, 4> ours = corpus_bleu(refs_of(kRefs), hyps_of(kHyps));
  for (size_t n = 0; n < 4; ++n) {
    std::printf("BLEU-%zu: ours %.12f, NLTK %.12f\n", n + 1, ours[n], nltk[n]);
    EXPECT_NEAR(ours[n], nltk[n], 1e-12) << "BLEU-" << n + 1;
  }
  EXPECT_GT(ours[3], 0.2);  // a real match, not a degenerate 0
  std::filesystem::remove_all(dir);
}

TEST(CaptionMetrics, BleuOfPerfectShortAndUnmatchedCorpora) {
  const auto perfect = corpus_bleu({{split_words("a b c d e")}}, {split_words("a b c d e")});
  for (double b : perfect) EXPECT_DOUBLE_EQ(b, 1.0);
  // Half the reference's length: a brevity penalty of exp(1 - 2) on perfect precisions.
  const auto short_one = corpus_bleu({{split_words("a b c d e f g h")}}, {split_words("a b c d")});
  EXPECT_NEAR(short_one[0], std::exp(-1.0), 1e-12);
  EXPECT_NEAR(short_one[3], std::exp(-1.0), 1e-12);
  // No bigram matches: BLEU-2..4 are 0, BLEU-1 is not.
  const auto unmatched = corpus_bleu({{split_words("a b")}}, {split_words("b a")});
  EXPECT_DOUBLE_EQ(unmatched[0], 1.0);
  EXPECT_EQ(unmatched[1], 0.0);
  EXPECT_EQ(corpus_bleu({}, {})[0], 0.0);
}

TEST(CaptionMetrics, CiderDRewardsConsensusAndPenalisesLength) {
  // Two images; the hypothesis of the first equals its only reference.
  const std::vector<std::vector<Sentence>> refs = {{split_words("a red coat on grass")},
                                                   {split_words("two blue shoes on sand")}};
  const double same =
      cider_d(refs, {split_words("a red coat on grass"), split_words("two blue shoes on sand")});
  // Every n-gram occurs in one image of two: idf log 2 for all, so each
  // order's cosine is exactly 1 and the score is 10 per image.
  EXPECT_NEAR(same, 10.0, 1e-9);
  const double other =
      cider_d(refs, {split_words("a red coat"), split_words("two blue shoes on sand")});
  EXPECT_LT(other, same);
  EXPECT_GT(other, 5.0);  // the second image still scores 10
  // Words shared by every image's references carry no weight (idf 0).
  const double common = cider_d({{split_words("a x")}, {split_words("a y")}},
                                {split_words("a z"), split_words("a w")});
  EXPECT_NEAR(common, 0.0, 1e-12);
}

TEST(CaptionMetrics, ExactMatchIsAnyReference) {
  EXPECT_DOUBLE_EQ(exact_match(refs_of(kRefs), hyps_of(kHyps)), 0.25);  // "a coat"
  EXPECT_EQ(split_words("  a  b "), (Sentence{"a", "b"}));
}

}  // namespace
}  // namespace ringmaster::training
