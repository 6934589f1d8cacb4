// The data-set registry: each data set loads through its own reader with its
// own fields and defaults, the shared limits apply after, and a bad field or
// an unknown name is an error that names it.
#include "training/dataset_registry.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "models/text_corpus.h"

namespace ringmaster::training {
namespace {

std::string digits() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }
std::string lfw() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/lfw_subset.npy"; }
const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

DataSpec data_spec(const nlohmann::json& data) { return parse_job_spec({{"data", data}}).data; }
DataSpec text_spec(const nlohmann::json& data) {
  return parse_job_spec({{"data", data}, {"model", {{"name", "rnn_lm"}}}}).data;
}

TEST(DatasetRegistry, NamesEveryDataSet) {
  EXPECT_EQ(dataset_names(),
            (std::vector<std::string>{"cifar-10", "cifar-100", "coco-captions", "coco-instances",
                                      "digits", "fashion-captions", "fashion-composites",
                                      "fashion-mnist", "fortunes", "image-folder", "lfw-subset"}));
}

TEST(DatasetRegistry, DigitsSplitsByItsOwnFractionAndSeed) {
  if (!std::filesystem::exists(digits())) GTEST_SKIP() << digits() << " missing";
  const TrainTestData d = load_data(data_spec({{"dataset", "digits"}, {"path", digits()}}), 3);
  EXPECT_EQ(d.test.size(), 1797 * 280 / 1000);  // the default 28%
  EXPECT_EQ(d.train.size() + d.test.size(), 1797);
  const TrainTestData quarter =
      load_data(data_spec({{"dataset", "digits"}, {"path", digits()}, {"test_fraction", 0.25}}), 3);
  EXPECT_EQ(quarter.test.size(), 1797 * 250 / 1000);
  // split_seed fixes the split whatever train.seed is; without it the seed decides.
  const DataSpec fixed = data_spec({{"dataset", "digits"}, {"path", digits()}, {"split_seed", 7}});
  EXPECT_EQ(load_data(fixed, 1).test.labels, load_data(fixed, 2).test.labels);
  const DataSpec by_seed = data_spec({{"dataset", "digits"}, {"path", digits()}});
  EXPECT_NE(load_data(by_seed, 1).test.labels, load_data(by_seed, 2).test.labels);
}

TEST(DatasetRegistry, LimitsAndFewShotApplyToEveryDataSet) {
  if (!std::filesystem::exists(digits())) GTEST_SKIP() << digits() << " missing";
  const TrainTestData d = load_data(data_spec({{"dataset", "digits"},
                                               {"path", digits()},
                                               {"train_limit", 300},
                                               {"test_limit", 40},
                                               {"train_per_class", 5}}),
                                    1);
  EXPECT_EQ(d.test.size(), 40);
  EXPECT_EQ(d.train.size(), 50);  // 5 of each of 10 classes, from the first 300
  std::vector<int> per_class(10);
  for (int64_t y : d.train.labels) ++per_class[static_cast<size_t>(y)];
  for (int c : per_class) EXPECT_EQ(c, 5);
}

TEST(DatasetRegistry, LfwSubsetResizesToItsImageSize) {
  if (!std::filesystem::exists(lfw())) GTEST_SKIP() << lfw() << " missing";
  const TrainTestData d =
      load_data(data_spec({{"dataset", "lfw-subset"}, {"path", lfw()}, {"image_size", 40}}), 1);
  EXPECT_EQ(d.train.images.dim(2), 40);
  EXPECT_EQ(d.test.size(), 100);  // the default half of 200
}

TEST(DatasetRegistry, CompositesAreSegmentationWithTheirOwnSizes) {
  if (!std::filesystem::exists(kFashionDir)) GTEST_SKIP() << kFashionDir << " missing";
  const DataSpec spec =
      data_spec({{"dataset", "fashion-composites"},
                 {"composites", {{"size", 32}, {"train", 6}, {"test", 4}, {"max_items", 1}}}});
  EXPECT_EQ(spec.task, TaskKind::kSegmentation);
  const TrainTestData d = load_data(spec, 1);
  EXPECT_EQ(d.train.size(), 6);
  EXPECT_EQ(d.test.size(), 4);
  EXPECT_EQ(d.train.masks.dim(1), 32);
}

// targets "boxes" makes the composites a detection data set: instance masks
// and each item's class; its fields are checked, naming them.
TEST(DatasetRegistry, CompositesWithBoxesAreDetection) {
  if (!std::filesystem::exists(kFashionDir)) GTEST_SKIP() << kFashionDir << " missing";
  DataSpec d;
  d.dataset = "fashion-composites";
  d.options = {{"targets", "boxes"},
               {"composites",
                {{"size", 96}, {"train", 6}, {"test", 4}, {"max_items", 4}, {"scale_max", 2.0}}}};
  std::vector<models::SpecProblem> problems;
  models::SpecReader r(d.options, "/data", problems);
  EXPECT_EQ(read_dataset_options(d.dataset, d.path, r), TaskKind::kDetection);
  EXPECT_TRUE(problems.empty());
  const TrainTestData data = load_data(d, 1);
  ASSERT_EQ(data.train.instance_classes.shape(), (ops::Shape{6, 4}));
  ASSERT_EQ(data.test.instance_classes.shape(), (ops::Shape{4, 4}));
  EXPECT_EQ(data.train.masks.dim(1), 96);
  auto refused = [&](const nlohmann::json& options, const std::string& expected) {
    DataSpec bad = d;
    bad.options = options;
    try {
      load_data(bad, 1);
      ADD_FAILURE() << options.dump() << " must be refused";
    } catch (const ops::Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused({{"targets", "points"}}, "/data/targets");
  refused({{"targets", "boxes"}, {"composites", {{"scale_max", 3.0}}}},
          "/data/composites/scale_max: makes items of up to 84 px, larger than size 64");
  refused({{"targets", "boxes"}, {"composites", {{"scale_min", -1.0}}}},
          "/data/composites/scale_min");
  refused({{"targets", "boxes"}, {"composites", {{"scale_min", 1.5}, {"scale_max", 1.2}}}},
          "/data/composites/scale_max: must be >= scale_min (1.5)");
  refused({{"targets", "boxes"}, {"composites", {{"min_visible", 2}}}},
          "/data/composites/min_visible");
}

TEST(DatasetRegistry, FortunesSplitsByQuoteIntoWindowsWithATrainVocabulary) {
  const char* dir = "/usr/share/games/fortunes";
  if (!std::filesystem::exists(std::string(dir) + "/fortunes"))
    GTEST_SKIP() << dir << " missing (Debian's fortunes): run scripts/install-deps.sh";
  const DataSpec spec = text_spec({{"dataset", "fortunes"}, {"seq_len", 80}});
  EXPECT_EQ(spec.task, TaskKind::kLanguageModel);
  const TrainTestData d = load_data(spec, 1);
  ASSERT_EQ(d.train.tokens.dim(1), 81);
  EXPECT_FALSE(d.train.images.defined());
  EXPECT_EQ(d.train.vocab, d.test.vocab);  // one vocabulary, from the training quotes
  EXPECT_EQ(d.train.num_classes, d.train.vocab->size());
  // About a tenth of the text is held out (the split is by quote, the windows by length).
  const double share = static_cast<double>(d.test.size()) / (d.train.size() + d.test.size());
  EXPECT_GT(share, 0.07);
  EXPECT_LT(share, 0.13);
  // The split is fixed by split_seed (default 1), not by train.seed.
  const TrainTestData again = load_data(spec, 2);
  ASSERT_EQ(again.test.size(), d.test.size());
  EXPECT_EQ(std::memcmp(again.test.tokens.raw(), d.test.tokens.raw(), d.test.tokens.nbytes()), 0);
  const TrainTestData other =
      load_data(text_spec({{"dataset", "fortunes"}, {"seq_len", 80}, {"split_seed", 5}}), 1);
  EXPECT_NE(
      other.test.size() == d.test.size() &&
          std::memcmp(other.test.tokens.raw(), d.test.tokens.raw(), d.test.tokens.nbytes()) == 0,
      true);
}

TEST(DatasetRegistry, BadFieldsAndNamesAreErrorsNamingThem) {
  DataSpec d;
  d.dataset = "imagenet";
  try {
    load_data(d, 1);
    ADD_FAILURE() << "an unknown data set must be refused";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/data/dataset: must be one of cifar-10, cifar-100, "
                                         "coco-captions, coco-instances, digits"),
              std::string::npos)
        << e.what();
  }
  d.dataset = "digits";
  d.options = {{"image_size", 10}};
  try {
    load_data(d, 1);
    ADD_FAILURE() << "another data set's field must be refused";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/data/image_size: is not a field of data set \"digits\""),
              std::string::npos)
        << e.what();
  }
  d.options = nlohmann::json::object();
  d.path = "/nonexistent/digits.csv.gz";
  EXPECT_THROW(load_data(d, 1), ops::Error);
}

}  // namespace
}  // namespace ringmaster::training

namespace ringmaster::training {
namespace {

TEST(DatasetRegistry, FashionCaptionsPairImagesWithTheirSentences) {
  if (!std::filesystem::exists(kFashionDir)) GTEST_SKIP() << kFashionDir << " missing";
  const DataSpec spec =
      parse_job_spec({{"data",
                       {{"dataset", "fashion-captions"},
                        {"captions", {{"train", 64}, {"test", 8}, {"references", 2}}}}},
                      {"model", {{"name", "nic"}, {"encoder", {{"name", "mlp"}}}}}})
          .data;
  const TrainTestData d = load_data(spec, 1);
  ASSERT_EQ(d.train.tokens.shape()[0], 64);
  ASSERT_EQ(d.train.tokens.shape()[1], 2);
  // Every batch of two epochs holds each image with its own sentences.
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    models::BatchLoader loader(
        d.train, models::BatchLoaderOptions{.batch_size = 16, .seed = 3, .epoch = epoch});
    while (auto b = loader.next()) {
      const int64_t per_image = 64 * 64, per_caption = d.train.tokens.numel() / 64;
      for (size_t i = 0; i < b->indices.size(); ++i) {
        const int64_t k = b->indices[i];
        for (int64_t j = 0; j < per_image; j += 97)
          ASSERT_NEAR(b->images.data<float>()[static_cast<int64_t>(i) * per_image + j],
                      d.train.images.data<uint8_t>()[k * per_image + j] / 255.0f, 1e-6);
        ASSERT_EQ(std::memcmp(b->tokens.data<int64_t>() + static_cast<int64_t>(i) * per_caption,
                              d.train.tokens.data<int64_t>() + k * per_caption,
                              static_cast<size_t>(per_caption) * 8),
                  0);
      }
    }
  }
}

}  // namespace
}  // namespace ringmaster::training
