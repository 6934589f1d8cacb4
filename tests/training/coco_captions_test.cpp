// The coco-captions data set from COCO-style caption files and image folders
// written here: images in the file's order with their captions as words,
// references repeated or cut to the count asked, a vocabulary from the
// training captions only, and malformed files refused naming the entry.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../error_of.h"
#include "../test_dir.h"
#include "models/coco_captions.h"
#include "models/text_corpus.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  return testing_support::error_of<std::exception>(f);
}

// A w x w grey PNG of one value.
void write_png(const fs::path& p, int w, uint8_t value) {
  fs::create_directories(p.parent_path());
  const std::vector<uint8_t> px(static_cast<size_t>(w * w), value);
  ASSERT_NE(stbi_write_png(p.c_str(), w, w, 1, px.data(), w), 0) << p;
}

// The words of image i's reference r.
std::string reference(const models::Dataset& ds, int64_t i, int64_t r) {
  const int64_t refs = ds.tokens.dim(1), l = ds.tokens.dim(2);
  const int64_t* row = ds.tokens.data<int64_t>() + (i * refs + r) * l;
  return models::decode_words(*ds.vocab, std::vector<int64_t>(row, row + l));
}

// How many <unk> ids the data set's references hold.
int64_t unknowns(const models::Dataset& ds) {
  const int64_t* t = ds.tokens.data<int64_t>();
  return std::count(t, t + ds.tokens.numel(), models::Vocabulary::kUnk);
}

class CocoCaptions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::fresh_test_dir("coco_captions");
    write_png(dir_ / "imgs" / "a.png", 20, 10);
    write_png(dir_ / "imgs" / "sub" / "b.png", 12, 200);
    write_png(dir_ / "imgs" / "c.png", 8, 90);
    train_ = {{"images",
               {{{"id", 7}, {"file_name", "sub/b.png"}},
                {{"id", 3}, {"file_name", "a.png"}},
                {{"id", 9}, {"file_name", "c.png"}}}},  // c has no caption: left out
              {"annotations",
               {{{"image_id", 3}, {"caption", "A dog, running on GRASS."}},
                {{"image_id", 7}, {"caption", "two cats"}},
                {{"image_id", 3}, {"caption", "a dog outside"}},
                {{"image_id", 7}, {"caption", "cats sleeping"}},
                {{"image_id", 7}, {"caption", "two cats sleeping together"}}}},
              {"info", {{"year", 2017}}}};
    test_ = {{"images", {{{"id", 1}, {"file_name", "a.png"}}}},
             {"annotations", {{{"image_id", 1}, {"caption", "a zebra running"}}}}};
    write();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write() const {
    fs::create_directories(dir_ / "ann");
    std::ofstream(dir_ / "ann" / "train.json") << train_.dump();
    std::ofstream(dir_ / "ann" / "test.json") << test_.dump();
  }
  TrainTestData load(const nlohmann::json& extra = nlohmann::json::object()) const {
    nlohmann::json data = {{"dataset", "coco-captions"},
                           {"path", dir_.string()},
                           {"train", {{"annotations", "ann/train.json"}, {"images", "imgs"}}},
                           {"test", {{"annotations", "ann/test.json"}, {"images", "imgs"}}},
                           {"size", 16},
                           {"references", 2}};
    data.update(extra);
    const nlohmann::json nic = {{"name", "nic"}, {"encoder", {{"name", "resnet"}, {"depth", 8}}}};
    return load_data(parse_job_spec({{"data", data}, {"model", nic}}).data, 1);
  }
  fs::path dir_;
  nlohmann::json train_, test_;
};

TEST_F(CocoCaptions, ImagesKeepTheFilesOrderWithTheirCaptionsAsWords) {
  const TrainTestData d = load({{"channels", 1}});
  ASSERT_EQ(d.train.images.shape(), (ops::Shape{2, 1, 16, 16}));
  EXPECT_EQ(d.train.images.data<uint8_t>()[0], 200);       // b.png first, as listed
  EXPECT_EQ(d.train.images.data<uint8_t>()[16 * 16], 10);  // then a.png
  ASSERT_EQ(d.train.tokens.dim(1), 2);
  EXPECT_EQ(reference(d.train, 0, 0), "two cats");
  EXPECT_EQ(reference(d.train, 0, 1), "cats sleeping");  // the third is cut
  EXPECT_EQ(reference(d.train, 1, 0), "a dog running on grass");
  EXPECT_EQ(reference(d.train, 1, 1), "a dog outside");
  // The vocabulary is the training words: "zebra" is unknown in the test
  // split, <unk> there (which decoding skips), or left out with "drop".
  EXPECT_EQ(reference(d.test, 0, 0), "a running");
  EXPECT_EQ(reference(d.test, 0, 1), "a running");  // one caption, repeated
  EXPECT_EQ(unknowns(d.test), 2);
  EXPECT_EQ(unknowns(load({{"unknown_words", "drop"}}).test), 0);
  EXPECT_EQ(load().train.images.dim(1), 3);  // RGB by default
}

TEST_F(CocoCaptions, CaptionsBecomeLowerCaseWordsCutToMaxWords) {
  EXPECT_EQ(models::caption_words("  A man--riding a Horse;  ", 30), "a man riding a horse");
  EXPECT_EQ(models::caption_words("one two three four", 2), "one two");
  EXPECT_EQ(models::caption_words("?!", 5), "");
  EXPECT_EQ(reference(load({{"max_words", 2}}).train, 1, 0), "a dog");
}

TEST_F(CocoCaptions, MalformedFilesAreRefusedNamingTheEntry) {
  const std::string file = (dir_ / "ann" / "train.json").string();
  auto error_with = [&](const std::function<void()>& change) {
    SetUp();
    change();
    write();
    return error_of([&] { load(); });
  };
  std::string e = error_with([&] { train_["images"][1]["id"] = 7; });
  EXPECT_NE(e.find(file + ": images[1]: image id 7 is listed twice"), std::string::npos) << e;
  e = error_with([&] { train_["annotations"][2]["image_id"] = 99; });
  EXPECT_NE(e.find(file + ": annotations[2]: image_id 99 is not among the images"),
            std::string::npos)
      << e;
  e = error_with([&] { train_["images"][0]["file_name"] = "../../etc/passwd"; });
  EXPECT_NE(e.find("must be a path inside the images folder"), std::string::npos) << e;
  e = error_with([&] { train_["annotations"][0].erase("caption"); });
  EXPECT_NE(e.find(file + ": annotations[0]: needs a string \"caption\""), std::string::npos) << e;
  e = error_with([&] { train_["images"][2]["file_name"] = "missing.png"; });
  EXPECT_EQ(e, "no error");  // an image without captions is never read
  e = error_with([&] { train_["images"][0]["file_name"] = "missing.png"; });
  EXPECT_NE(e.find("missing.png: not an image"), std::string::npos) << e;
  e = error_with([&] { train_ = nlohmann::json::array(); });
  EXPECT_NE(e.find(file + ": not a COCO captions file"), std::string::npos) << e;
  e = error_with([&] { train_["annotations"] = nlohmann::json::array(); });
  EXPECT_NE(e.find(file + ": no image has a caption"), std::string::npos) << e;
}

TEST_F(CocoCaptions, SpecPathsMustStayInsideThePath) {
  const std::string e = error_of([] {
    parse_job_spec({{"data",
                     {{"dataset", "coco-captions"},
                      {"train", {{"annotations", "/etc/x.json"}, {"images", "../up"}}}}},
                    {"model", {{"name", "nic"}}}});
  });
  EXPECT_NE(e.find("/data/path: is required for data set \"coco-captions\""), std::string::npos)
      << e;
  EXPECT_NE(e.find("/data/train/annotations: must be a path inside data.path"), std::string::npos)
      << e;
  EXPECT_NE(e.find("/data/train/images: must be a path inside data.path"), std::string::npos) << e;
}

}  // namespace
}  // namespace ringmaster::training
