// The coco-instances data set from COCO-style instances files and images
// written here: polygons and boxes drawn at the data's size in the file's
// pixel units, classes numbered by sorted category id, larger objects under
// smaller ones, an object mostly hidden unlabelled for detection, crowd
// regions left out, and malformed entries refused naming them.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../detection_specs.h"
#include "../error_of.h"
#include "../test_dir.h"
#include "models/coco_instances.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  return testing_support::error_of<std::exception>(f);
}

int64_t count(const uint8_t* mask, int64_t n, uint8_t v) { return std::count(mask, mask + n, v); }

TEST(CocoPolygon, FillsPixelsWhoseCentresAreInside) {
  std::vector<uint8_t> mask(8 * 8, 0);
  EXPECT_EQ(models::fill_polygon({1, 1, 5, 1, 5, 4, 1, 4}, 8, 8, 3, mask.data()), 12);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x)
      EXPECT_EQ(mask[static_cast<size_t>(y * 8 + x)], (x >= 1 && x < 5 && y >= 1 && y < 4) ? 3 : 0)
          << x << "," << y;
  // A right triangle: row y holds the x with x + 0.5 < 8 - (y + 0.5), 7 - y of them.
  std::fill(mask.begin(), mask.end(), 0);
  EXPECT_EQ(models::fill_polygon({0, 0, 8, 0, 0, 8}, 8, 8, 1, mask.data()),
            7 + 6 + 5 + 4 + 3 + 2 + 1);
  // Far outside or past the double range: clipped, nothing breaks.
  std::fill(mask.begin(), mask.end(), 0);
  EXPECT_EQ(models::fill_polygon({-1e300, -1e300, 1e300, -1e300, 1e300, 1e300, -1e300, 1e300}, 8, 8,
                                 1, mask.data()),
            64);
  EXPECT_EQ(models::fill_polygon({100, 100, 200, 100, 200, 200}, 8, 8, 2, mask.data()), 0);
}

class CocoInstances : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::fresh_test_dir("coco_instances");
    fs::create_directories(dir_ / "imgs");
    const std::vector<uint8_t> px(40 * 20 * 3, 120);
    ASSERT_NE(stbi_write_png((dir_ / "imgs" / "wide.png").c_str(), 40, 20, 3, px.data(), 120), 0);
    file_ = {{"images", {{{"id", 5}, {"file_name", "wide.png"}}}},
             {"categories", {{{"id", 7}, {"name", "cat"}}, {{"id", 3}, {"name", "dog"}}}},
             {"annotations",
              {// A box over the whole image (class dog = 1), drawn first as the largest.
               {{"image_id", 5}, {"category_id", 3}, {"bbox", {0, 0, 40, 20}}, {"iscrowd", 0}},
               // A cat polygon x 10..30, y 5..15 of the file: x 5..15, y 5..15 at size 20.
               {{"image_id", 5},
                {"category_id", 7},
                {"segmentation", {{10, 5, 30, 5, 30, 15, 10, 15}}},
                {"bbox", {10, 5, 20, 10}}},
               // A crowd region: not drawn.
               {{"image_id", 5},
                {"category_id", 7},
                {"segmentation", {{"counts", "abc"}, {"size", {20, 40}}}},
                {"iscrowd", 1}}}}};
    write();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write() const {
    std::ofstream(dir_ / "train.json") << file_.dump();
    std::ofstream(dir_ / "test.json") << file_.dump();
  }
  TrainTestData load(const nlohmann::json& extra = nlohmann::json::object()) const {
    nlohmann::json data = {{"dataset", "coco-instances"},
                           {"path", dir_.string()},
                           {"train", {{"annotations", "train.json"}, {"images", "imgs"}}},
                           {"test", {{"annotations", "test.json"}, {"images", "imgs"}}},
                           {"size", 20}};
    data.update(extra);
    nlohmann::json model = {{"name", "fcn"}};
    if (data.value("targets", "masks") == "boxes") model = testing_support::small_faster_rcnn();
    return load_data(parse_job_spec({{"data", data}, {"model", model}}).data, 1);
  }
  fs::path dir_;
  nlohmann::json file_;
};

TEST_F(CocoInstances, ClassMasksDrawLargerObjectsUnderSmallerOnes) {
  const TrainTestData d = load();
  ASSERT_EQ(d.train.images.shape(), (ops::Shape{1, 3, 20, 20}));
  ASSERT_EQ(d.train.masks.shape(), (ops::Shape{1, 20, 20}));
  EXPECT_EQ(d.train.num_classes, 3);
  EXPECT_EQ(d.train.class_names, (std::vector<std::string>{"background", "dog", "cat"}));
  const uint8_t* m = d.train.masks.data<uint8_t>();
  EXPECT_EQ(count(m, 400, 2), 100);  // the cat, 10 x 10
  EXPECT_EQ(count(m, 400, 1), 300);  // the dog around it
  EXPECT_EQ(m[7 * 20 + 7], 2);
  EXPECT_EQ(m[2 * 20 + 2], 1);
  EXPECT_FALSE(d.train.instance_classes.defined());
}

TEST_F(CocoInstances, BoxesGetInstanceIdsAndAHiddenObjectIsUnlabelled) {
  TrainTestData d = load({{"targets", "boxes"}});
  ASSERT_EQ(d.train.instance_classes.shape(), (ops::Shape{1, 2}));
  EXPECT_EQ(d.train.instance_classes.data<int64_t>()[0], 1);  // dog, id 1
  EXPECT_EQ(d.train.instance_classes.data<int64_t>()[1], 2);  // cat, id 2
  EXPECT_EQ(count(d.train.masks.data<uint8_t>(), 400, 2), 100);
  // The cat now covers 92% of a dog box 11 x 10 around it: the dog is unlabelled.
  file_["annotations"][0]["bbox"] = {8, 5, 22, 10};
  file_["annotations"][1]["segmentation"] = {{10, 5, 30, 5, 30, 15, 10, 15}};
  write();
  d = load({{"targets", "boxes"}});
  EXPECT_EQ(d.train.instance_classes.data<int64_t>()[0], -1);
  EXPECT_EQ(count(d.train.masks.data<uint8_t>(), 400, 1), 0);
  d = load({{"targets", "boxes"}, {"min_visible", 0.05}});
  EXPECT_EQ(d.train.instance_classes.data<int64_t>()[0], 1);
}

TEST_F(CocoInstances, MalformedEntriesAreRefusedNamingThem) {
  const std::string file = (dir_ / "train.json").string();
  auto error_with = [&](const std::function<void()>& change) {
    SetUp();
    change();
    write();
    return error_of([&] { load(); });
  };
  std::string e = error_with([&] { file_["annotations"][1]["category_id"] = 9; });
  EXPECT_NE(e.find("annotations[1]: category_id 9 is not among the training file's categories"),
            std::string::npos)
      << e;
  e = error_with([&] { file_["annotations"][1]["segmentation"] = {{1, 2, "x", 4, 5, 6}}; });
  EXPECT_NE(e.find(file + ": annotations[1]: a segmentation polygon must be an array of finite"),
            std::string::npos)
      << e;
  e = error_with([&] { file_["annotations"][0]["bbox"] = {1, 2, -3, 4}; });
  EXPECT_NE(e.find(file + ": annotations[0]: bbox must be [x, y, width, height]"),
            std::string::npos)
      << e;
  e = error_with([&] { file_["categories"][1]["id"] = 7; });
  EXPECT_NE(e.find(file + ": categories[1]: category id 7 is listed twice"), std::string::npos)
      << e;
  e = error_with([&] { file_["images"][0]["file_name"] = "/etc/passwd"; });
  EXPECT_NE(e.find("must be a path inside the images folder"), std::string::npos) << e;
  e = error_with([&] { file_.erase("categories"); });
  EXPECT_NE(e.find(file + ": needs a non-empty \"categories\" array"), std::string::npos) << e;
  const std::string spec = error_of([] {
    parse_job_spec({{"data", {{"dataset", "coco-instances"}, {"targets", "polygons"}}},
                    {"model", {{"name", "fcn"}}}});
  });
  EXPECT_NE(spec.find("/data/path: is required"), std::string::npos) << spec;
  EXPECT_NE(spec.find("/data/targets"), std::string::npos) << spec;
}

}  // namespace
}  // namespace ringmaster::training
