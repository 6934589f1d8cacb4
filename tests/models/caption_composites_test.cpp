// Captioned composites: a pure function of (seed, index); every image has
// `references` distinct sentences that all name its background and its
// first item; one item or two, as asked; bad options are errors.
#include "models/caption_composites.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "error_of.h"

namespace ringmaster::models {
namespace {

// 40 grey 28x28 items, two of each Fashion-MNIST class, bright squares.
Dataset items() {
  Dataset ds;
  ds.num_classes = 10;
  ds.images = ops::Tensor::zeros({40, 1, 28, 28}, ops::DType::u8);
  for (int64_t i = 0; i < 40; ++i) {
    ds.labels.push_back(i % 10);
    for (int64_t y = 6; y < 22; ++y)
      for (int64_t x = 6; x < 22; ++x) ds.images.data<uint8_t>()[i * 784 + y * 28 + x] = 200;
  }
  return ds;
}

const std::vector<std::string> kNames = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                         "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};

// A sentence about two items: "two"/"pair"/"another", or two item names.
bool holds_two(const std::string& s) {
  if (s.find("two ") != std::string::npos || s.find("pair of") != std::string::npos ||
      s.find("another") != std::string::npos)
    return true;
  std::set<std::string> named;
  std::string word;
  for (const char ch : s + " ") {
    if (ch != ' ') {
      word += ch;
      continue;
    }
    if (word == "ankle") word = "ankle boot";
    if (std::find(kNames.begin(), kNames.end(), word) != kNames.end()) named.insert(word);
    word.clear();
  }
  return named.size() >= 2;
}

TEST(CaptionComposites, ArePureFunctionsOfTheSeed) {
  const CaptionCompositeOptions o{.count = 20, .seed = 3};
  const CaptionedImages a = make_caption_composites(items(), o),
                        b = make_caption_composites(items(), o);
  EXPECT_EQ(a.captions, b.captions);
  EXPECT_EQ(std::memcmp(a.images.images.raw(), b.images.images.raw(), a.images.images.nbytes()), 0);
  CaptionCompositeOptions other = o;
  other.seed = 4;
  EXPECT_NE(make_caption_composites(items(), other).captions, a.captions);
}

TEST(CaptionComposites, EverySentenceNamesTheBackgroundAndTheFirstItem) {
  const CaptionedImages c = make_caption_composites(items(), {.count = 200, .references = 5});
  ASSERT_EQ(c.captions.size(), 200u);
  ASSERT_EQ(c.images.images.shape(), (ops::Shape{200, 1, 64, 64}));
  std::set<std::string> backgrounds;
  int two = 0;
  for (size_t i = 0; i < c.captions.size(); ++i) {
    const auto& refs = c.captions[i];
    ASSERT_EQ(refs.size(), 5u);
    EXPECT_EQ(std::set<std::string>(refs.begin(), refs.end()).size(), 5u) << "distinct phrasings";
    const std::string& item = kNames[static_cast<size_t>(c.images.labels[i])];
    std::string bg;
    for (const std::string& w : background_words())
      if (refs[0].find(" " + w + " background") != std::string::npos) bg = w;
    ASSERT_FALSE(bg.empty()) << refs[0];
    backgrounds.insert(bg);
    for (const std::string& s : refs) {
      EXPECT_NE(s.find(item), std::string::npos) << s;
      EXPECT_NE(s.find(" " + bg + " background"), std::string::npos) << s;
    }
    two += holds_two(refs[0]);
  }
  EXPECT_EQ(backgrounds.size(), background_words().size());
  EXPECT_GT(two, 40);  // about half the images hold two items
  EXPECT_LT(two, 160);
  const CaptionedImages one = make_caption_composites(items(), {.count = 50, .max_items = 1});
  for (const auto& refs : one.captions)
    for (const std::string& s : refs) EXPECT_EQ(s.find("two "), std::string::npos) << s;
}

TEST(CaptionComposites, BadOptionsAreErrorsNamingThem) {
  EXPECT_NE(
      error_of([] { make_caption_composites(items(), {.max_items = 3}); }).find("max_items 3"),
      std::string::npos);
  EXPECT_NE(
      error_of([] { make_caption_composites(items(), {.references = 7}); }).find("references 7"),
      std::string::npos);
  EXPECT_NE(error_of([] { make_caption_composites(items(), {.size = 40}); }).find("two need"),
            std::string::npos);
  Dataset eleven = items();
  eleven.labels[0] = 10;
  EXPECT_NE(error_of([&] { make_caption_composites(eleven, {}); }).find("class 10 has no name"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::models
