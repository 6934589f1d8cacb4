// Job spec parsing: defaults, typed choices, every bad field reported by JSON
// pointer at once; the data set's own fields go to its reader.
#include "training/job_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/test_dir.h"

namespace ringmaster::training {
namespace {

using models::AugmentStep;
using models::SpecError;
using models::SpecProblem;

std::vector<SpecProblem> problems_of(const nlohmann::json& j) {
  try {
    parse_job_spec(j);
  } catch (const SpecError& e) {
    return e.problems();
  }
  return {};
}

bool has_problem(const std::vector<SpecProblem>& ps, const std::string& pointer,
                 const std::string& reason_part) {
  for (const auto& p : ps) {
    if (p.pointer == pointer && p.reason.find(reason_part) != std::string::npos) return true;
  }
  return false;
}

TEST(JobSpec, EmptyObjectGivesDefaults) {
  JobSpec s = parse_job_spec(nlohmann::json::object());
  EXPECT_EQ(s.model.name, "deep_convnet");
  EXPECT_EQ(s.data.dataset, "fashion-mnist");
  EXPECT_EQ(s.train.batch_size, 100);
  EXPECT_EQ(s.optimizer.name, OptimizerKind::kAdam);
  EXPECT_EQ(s.data.task, TaskKind::kClassification);
  EXPECT_EQ(s.checkpoint.path, "runs/job/final.safetensors");
}

TEST(JobSpec, ReadsEveryField) {
  auto j = nlohmann::json::parse(R"({
    "name": "x", "model": {"name": "deep_convnet"},
    "data": {"dataset": "digits", "path": "d.csv.gz", "train_limit": 5, "test_limit": 6, "test_fraction": 0.25},
    "train": {"epochs": 3, "batch_size": 7, "eval_batch_size": 8, "seed": 9, "threads": 2},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 0.0005},
    "checkpoint": {"path": "c.safetensors"}})");
  JobSpec s = parse_job_spec(j);
  EXPECT_EQ(s.data.dataset, "digits");
  EXPECT_EQ(s.data.path, "d.csv.gz");
  EXPECT_EQ(s.data.train_limit, 5);
  EXPECT_EQ(s.data.options, nlohmann::json({{"test_fraction", 0.25}}));  // digits' own field
  EXPECT_EQ(s.optimizer.name, OptimizerKind::kSgd);
  EXPECT_EQ(s.train.epochs, 3);
  EXPECT_EQ(s.train.batch_size, 7);
  EXPECT_EQ(s.train.seed, 9u);
  EXPECT_TRUE(s.optimizer.nesterov);
  EXPECT_DOUBLE_EQ(s.optimizer.momentum, 0.9);
  EXPECT_EQ(s.checkpoint.path, "c.safetensors");
}

TEST(JobSpec, ReportsEveryProblemByPointer) {
  auto ps = problems_of(nlohmann::json::parse(R"({
    "bogus": 1,
    "train": {"batch_size": 0, "epochs": "ten", "extra": true},
    "optimizer": {"name": "rmsprop", "lr": -1},
    "model": []})"));
  EXPECT_TRUE(has_problem(ps, "/bogus", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/train/batch_size", "must be >= 1"));
  EXPECT_TRUE(has_problem(ps, "/train/epochs", "must be an integer"));
  EXPECT_TRUE(has_problem(ps, "/train/extra", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/optimizer/name", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/optimizer/lr", "must be > 0"));
  EXPECT_TRUE(has_problem(ps, "/model", "must be an object"));
  EXPECT_EQ(ps.size(), 7u);
}

TEST(JobSpec, NesterovNeedsMomentum) {
  auto ps = problems_of({{"optimizer", {{"name", "sgd"}, {"nesterov", true}}}});
  EXPECT_TRUE(has_problem(ps, "/optimizer/nesterov", "momentum"));
}

TEST(JobSpec, TopLevelMustBeAnObject) {
  auto ps = problems_of(nlohmann::json::array());
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "");
}

TEST(JobSpec, BadScheduleIsNamed) {
  auto ps = problems_of({{"lr_schedule", {{"type", "sawtooth"}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/type");
  EXPECT_NE(ps[0].reason.find("must be one of"), std::string::npos) << ps[0].reason;
  ps = problems_of({{"lr_schedule", {{"type", "cosine"}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/t_max");
  EXPECT_EQ(ps[0].reason, "is required");
  ps = problems_of({{"lr_schedule", {{"type", "constant"}, {"gama", 0.5}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/gama");
}

TEST(JobSpec, ResourcesAndPriorityHaveDefaultsAndBounds) {
  JobSpec d = parse_job_spec(nlohmann::json::object());
  EXPECT_EQ(d.resources.workers, 1);
  EXPECT_EQ(d.resources.cores, 1);
  EXPECT_EQ(d.resources.gpus, 0);
  EXPECT_EQ(d.priority, 0);

  JobSpec s =
      parse_job_spec({{"resources", {{"workers", 1}, {"cores", 4}, {"gpus", 2}}}, {"priority", 7}});
  EXPECT_EQ(s.resources.cores, 4);
  EXPECT_EQ(s.resources.gpus, 2);
  EXPECT_EQ(s.priority, 7);

  auto ps = problems_of(
      {{"resources", {{"cores", -1}, {"gpus", 1000}, {"ram", 1}}}, {"priority", "high"}});
  EXPECT_TRUE(has_problem(ps, "/resources/cores", "must be >= 1"));
  EXPECT_TRUE(has_problem(ps, "/resources/gpus", "must be <= 64"));
  EXPECT_TRUE(has_problem(ps, "/resources/ram", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/priority", "must be an integer"));
}

TEST(JobSpec, MinWorkersDefaultsToWorkersAndIsAtMostWorkers) {
  EXPECT_EQ(parse_job_spec({{"resources", {{"workers", 3}}}}).resources.min_workers, 3);
  EXPECT_EQ(
      parse_job_spec({{"resources", {{"workers", 3}, {"min_workers", 1}}}}).resources.min_workers,
      1);
  EXPECT_TRUE(has_problem(problems_of({{"resources", {{"workers", 2}, {"min_workers", 3}}}}),
                          "/resources/min_workers", "is 3, more than resources.workers (2)"));
  EXPECT_TRUE(has_problem(problems_of({{"resources", {{"min_workers", 0}}}}),
                          "/resources/min_workers", "must be >= 1"));
}

TEST(JobSpec, CudaAsksOneGpuUnlessResourcesSayHowMany) {
  const auto cuda = [](nlohmann::json resources) {
    nlohmann::json j = {{"train", {{"device", "cuda"}}}};
    if (!resources.is_null()) j["resources"] = resources;
    return j;
  };
  EXPECT_EQ(parse_job_spec(cuda(nullptr)).resources.gpus, 1);
  EXPECT_EQ(parse_job_spec(cuda({{"workers", 2}})).resources.gpus, 1);
  EXPECT_EQ(parse_job_spec(cuda({{"gpus", 3}})).resources.gpus, 3);
  EXPECT_EQ(parse_job_spec({{"train", {{"device", "auto"}}}}).resources.gpus, 0);
  EXPECT_TRUE(has_problem(problems_of(cuda({{"gpus", 0}})), "/resources/gpus",
                          "is 0 but train.device is \"cuda\""));
}

TEST(JobSpec, SyncHasDefaultsAndIsChecked) {
  JobSpec s = parse_job_spec({{"resources", {{"workers", 4}}}});
  EXPECT_EQ(s.resources.workers, 4);
  EXPECT_EQ(s.sync.mode, SyncMode::kAllreduce);
  EXPECT_EQ(s.sync.compression, comm::Compression::kNone);
  EXPECT_EQ(s.sync.bucket_mb, 25.0);
  EXPECT_EQ(s.sync.staleness, 0);
  s = parse_job_spec({{"sync",
                       {{"mode", "ps"},
                        {"compression", "fp16"},
                        {"staleness", 3},
                        {"shards", 2},
                        {"timeout_s", 5}}}});
  EXPECT_EQ(s.sync.mode, SyncMode::kParameterServer);
  EXPECT_EQ(s.sync.compression, comm::Compression::kFp16);
  EXPECT_EQ(s.sync.staleness, 3);
  EXPECT_EQ(s.sync.shards, 2);
  EXPECT_EQ(s.sync.timeout_s, 5.0);

  auto ps = problems_of({{"sync",
                          {{"mode", "gossip"},
                           {"compression", "int8"},
                           {"bucket_mb", 0},
                           {"timeout_s", -1},
                           {"speed", 1}}}});
  EXPECT_TRUE(has_problem(ps, "/sync/mode", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/sync/compression", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/sync/bucket_mb", "must be >"));
  EXPECT_TRUE(has_problem(ps, "/sync/timeout_s", "must be >"));
  EXPECT_TRUE(has_problem(ps, "/sync/speed", "unknown field"));
  ps = problems_of({{"sync", {{"staleness", 2}, {"shards", 2}}}});
  EXPECT_TRUE(has_problem(ps, "/sync/staleness", "only for mode \"ps\""));
  EXPECT_TRUE(has_problem(ps, "/sync/shards", "only for mode \"ps\""));
  ps = problems_of({{"sync", {{"mode", "ps"}, {"bucket_mb", 4}}}});
  EXPECT_TRUE(has_problem(ps, "/sync/bucket_mb", "only for mode \"allreduce\""));
}

TEST(JobSpec, DataSetsReadTheirOwnFields) {
  JobSpec s = parse_job_spec({{"data",
                               {{"dataset", "lfw-subset"},
                                {"image_size", 112},
                                {"split_seed", 7},
                                {"test_fraction", 0.3}}}});
  EXPECT_EQ(s.data.options,
            nlohmann::json({{"image_size", 112}, {"split_seed", 7}, {"test_fraction", 0.3}}));
  EXPECT_EQ(s.data.task, TaskKind::kClassification);
  EXPECT_EQ(parse_job_spec({{"data", {{"dataset", "fashion-composites"}}}}).data.task,
            TaskKind::kSegmentation);
  // Another data set's field is named as not this one's.
  auto ps = problems_of(
      {{"data", {{"dataset", "fashion-mnist"}, {"image_size", 150}, {"split_seed", 1}}}});
  EXPECT_TRUE(has_problem(ps, "/data/image_size", "is not a field of data set \"fashion-mnist\""));
  EXPECT_TRUE(has_problem(ps, "/data/split_seed", "is not a field of data set \"fashion-mnist\""));
  ps = problems_of({{"data", {{"dataset", "lfw-subset"}, {"image_size", 4}, {"split_seed", -1}}}});
  EXPECT_TRUE(has_problem(ps, "/data/image_size", ">= 8"));
  EXPECT_TRUE(has_problem(ps, "/data/split_seed", ">= 0"));
  EXPECT_TRUE(has_problem(problems_of({{"data", {{"dataset", "digits"}, {"test_fraction", 1}}}}),
                          "/data/test_fraction", "must be <= 0.9"));
  EXPECT_TRUE(
      has_problem(problems_of({{"data", {{"dataset", "lfw"}}}}), "/data/dataset", "lfw-subset"));
}

TEST(JobSpec, EnsemblesOnlyClassify) {
  const nlohmann::json two = {{"ensemble", {{{"name", "mlp"}}, {{"name", "mlp"}}}}};
  EXPECT_NO_THROW(parse_job_spec({{"model", two}}));
  EXPECT_TRUE(
      has_problem(problems_of({{"model", two}, {"data", {{"dataset", "fashion-composites"}}}}),
                  "/model/ensemble", "is segmentation"));
}

TEST(JobSpec, SequenceModelsTakeTextAndImageModelsImages) {
  const nlohmann::json lm = {{"name", "rnn_lm"}, {"hidden_size", 32}};
  const nlohmann::json text = {{"dataset", "fortunes"}, {"seq_len", 50}};
  EXPECT_NO_THROW(parse_job_spec({{"model", lm}, {"data", text}}));
  EXPECT_TRUE(has_problem(problems_of({{"model", lm}}), "/model/name",
                          "model \"rnn_lm\" reads text (token ids); data set \"fashion-mnist\" has "
                          "images"));
  EXPECT_TRUE(has_problem(problems_of({{"model", {{"name", "resnet"}}}, {"data", text}}),
                          "/model/name", "reads images; data set \"fortunes\" has text"));
  // An unknown model is named once, as unknown.
  const auto unknown = problems_of({{"model", {{"name", "gpt"}}}, {"data", text}});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_TRUE(has_problem(unknown, "/model/name", "must be one of"));
  // Image-only fields on text, and the text data set's own fields, are checked.
  nlohmann::json augmented = text;
  augmented["augment"] = {{{"type", "hflip"}}};
  EXPECT_TRUE(has_problem(problems_of({{"model", lm}, {"data", augmented}}), "/data/augment",
                          "is language_model"));
  nlohmann::json few = text;
  few["train_per_class"] = 5;
  EXPECT_TRUE(has_problem(problems_of({{"model", lm}, {"data", few}}), "/data/train_per_class",
                          "is language_model"));
  nlohmann::json bad = text;
  bad["seq_len"] = 0;
  EXPECT_TRUE(has_problem(problems_of({{"model", lm}, {"data", bad}}), "/data/seq_len", ""));
  EXPECT_TRUE(has_problem(
      problems_of({{"model", {{"name", "rnn_lm"}, {"cell", "transformer"}}}, {"data", text}}),
      "/model/cell", ""));
  EXPECT_TRUE(has_problem(problems_of({{"model",
                                        {{"name", "rnn_lm"},
                                         {"hidden_size", 32},
                                         {"embedding_size", 16},
                                         {"tie_weights", true}}},
                                       {"data", text}}),
                          "/model/tie_weights", "needs embedding_size equal to hidden_size"));
}

TEST(JobSpec, BoxesAndDetectorsGoTogether) {
  const nlohmann::json boxes = {{"dataset", "fashion-composites"}, {"targets", "boxes"}};
  EXPECT_TRUE(has_problem(problems_of({{"model", {{"name", "resnet"}}}, {"data", boxes}}),
                          "/model/name",
                          "reads images; data set \"fashion-composites\" has images with boxes"));
  EXPECT_TRUE(has_problem(problems_of({{"model", {{"name", "fcn"}}}, {"data", boxes}}),
                          "/model/name", "has images with boxes"));
  const nlohmann::json detector = {{"name", "faster_rcnn"},
                                   {"backbone", {{"name", "resnet"}, {"depth", 8}}}};
  EXPECT_NO_THROW(parse_job_spec({{"model", detector}, {"data", boxes}}));
  EXPECT_TRUE(has_problem(problems_of({{"model", detector}}), "/model/name",
                          "reads images with boxes; data set \"fashion-mnist\" has images"));
  nlohmann::json negative = boxes;
  negative["composites"] = {{"scale_min", -0.5}};
  EXPECT_TRUE(has_problem(problems_of({{"model", detector}, {"data", negative}}),
                          "/data/composites/scale_min", ""));
  // rcnn's context padding takes at most a quarter of the warped crop.
  const nlohmann::json rcnn = {{"name", "rcnn"},
                               {"classifier", {{"name", "resnet"}, {"depth", 8}}},
                               {"warp_size", 28},
                               {"context_padding", 2}};
  EXPECT_NO_THROW(parse_job_spec({{"model", rcnn}, {"data", boxes}}));
  nlohmann::json wide = rcnn;
  wide["context_padding"] = 8;
  EXPECT_TRUE(has_problem(problems_of({{"model", wide}, {"data", boxes}}), "/model/context_padding",
                          "must be at most a quarter of warp_size (28), got 8"));
}

TEST(JobSpec, CaptionersTakeCaptionedImages) {
  const nlohmann::json nic = {{"name", "nic"}, {"encoder", {{"name", "resnet"}, {"depth", 8}}}};
  const nlohmann::json captions = {{"dataset", "fashion-captions"}};
  EXPECT_NO_THROW(parse_job_spec({{"model", nic}, {"data", captions}}));
  EXPECT_TRUE(has_problem(problems_of({{"model", nic}}), "/model/name",
                          "reads images with captions; data set \"fashion-mnist\" has images"));
  EXPECT_TRUE(has_problem(problems_of({{"model", {{"name", "resnet"}}}, {"data", captions}}),
                          "/model/name", "has images with captions"));
  nlohmann::json beam0 = nic;
  beam0["beam_size"] = 0;
  EXPECT_TRUE(
      has_problem(problems_of({{"model", beam0}, {"data", captions}}), "/model/beam_size", ""));
  nlohmann::json policy = captions;
  policy["unknown_words"] = "ignore";
  EXPECT_TRUE(has_problem(problems_of({{"model", nic}, {"data", policy}}), "/data/unknown_words",
                          "must be one of"));
  nlohmann::json three = captions;
  three["captions"] = {{"max_items", 3}};
  EXPECT_TRUE(
      has_problem(problems_of({{"model", nic}, {"data", three}}), "/data/captions/max_items", ""));
  EXPECT_TRUE(
      has_problem(problems_of({{"model", {{"name", "nic"}, {"encoder", {{"name", "rnn_lm"}}}}},
                               {"data", captions}}),
                  "/model/encoder/name", "must be an image model"));
}

TEST(JobSpec, MissingFileIsASpecError) {
  EXPECT_THROW(load_job_spec("/nonexistent/spec.json"), SpecError);
}

TEST(JobSpec, ANameIsOnePrintablePathSegment) {
  for (const std::string& bad : {std::string(""), std::string("a\0b", 3), std::string("a\nb"),
                                 std::string("../x"), std::string(".."), std::string(129, 'n')})
    EXPECT_EQ(problems_of({{"name", bad}}).size(), 1u) << bad;
  EXPECT_TRUE(problems_of({{"name", "fashion-résnet_20.v2 (try 3)"}}).empty());
}

// A spec file is read with the bounds of a REST body: nesting depth, one
// value per key, nothing after the value, no NUL, numbers within a double.
TEST(JobSpec, ASpecFileIsBoundedAsARestBodyIs) {
  const std::filesystem::path dir = testing_support::fresh_test_dir("job_spec_file");
  const std::string path = (dir / "spec.json").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string(1000000, '['), "nested deeper than 64 levels"},
      {R"({"train": {"epochs": 1, "epochs": 2}})", "duplicate key \"epochs\""},
      {R"({"name": "a"} {"name": "b"})", "not valid JSON"},
      {std::string(R"({"name": "a"})") + '\0', "not valid JSON (a NUL at byte 13)"},
      {R"({"train": {"lr": 1e400}})", "a number too large for a double"},
  };
  for (const auto& [text, why] : cases) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    try {
      load_job_spec(path);
      ADD_FAILURE() << "accepted: " << text.substr(0, 40);
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": " + why), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(JobSpec, TrainDevice) {
  EXPECT_EQ(parse_job_spec(nlohmann::json::object()).train.device, DeviceChoice::kAuto);
  for (DeviceChoice d : {DeviceChoice::kAuto, DeviceChoice::kCpu, DeviceChoice::kCuda})
    EXPECT_EQ(parse_job_spec({{"train", {{"device", to_string(d)}}}}).train.device, d);
  auto ps = problems_of({{"train", {{"device", "gpu"}}}});
  EXPECT_TRUE(has_problem(ps, "/train/device", "must be one of auto, cpu, cuda")) << ps.size();
  EXPECT_TRUE(
      has_problem(problems_of({{"train", {{"device", 0}}}}), "/train/device", "must be a string"));
}

TEST(JobSpec, TrainPrecision) {
  EXPECT_EQ(parse_job_spec(nlohmann::json::object()).train.precision, Precision::kFp32);
  EXPECT_EQ(parse_job_spec({{"train", {{"precision", "fp16"}}}}).train.precision, Precision::kFp16);
  EXPECT_TRUE(has_problem(problems_of({{"train", {{"precision", "bf16"}}}}), "/train/precision",
                          "must be one of fp16, fp32"));
  EXPECT_TRUE(has_problem(problems_of({{"train", {{"precision", "fp16"}, {"device", "cpu"}}}}),
                          "/train/precision", "fp16 needs a GPU"));
}

TEST(JobSpec, ModelOptionsGoToTheArchitecture) {
  JobSpec s = parse_job_spec({{"model", {{"name", "resnet"}, {"depth", 20}, {"shortcut", "B"}}}});
  EXPECT_EQ(s.model.name, "resnet");
  EXPECT_EQ(s.model.options, (nlohmann::json{{"depth", 20}, {"shortcut", "B"}}));
  s = parse_job_spec({{"model", {{"name", "vgg"}, {"depth", 16}}}});
  EXPECT_EQ(s.model.options.at("depth"), 16);
  auto ps = problems_of({{"model", {{"name", "resnet"}, {"depth", 19}, {"bogus", true}}}});
  EXPECT_TRUE(has_problem(ps, "/model/depth", "6n+2"));
  EXPECT_TRUE(has_problem(ps, "/model/bogus", "unknown field"));
  EXPECT_EQ(ps.size(), 2u);
  ps = problems_of({{"model", {{"name", "alexnet"}}}});
  EXPECT_TRUE(
      has_problem(ps, "/model/name", "must be one of deep_convnet, face_resnet, faster_rcnn, fcn"));
  ps = problems_of({{"model", {{"name", "deep_convnet"}, {"depth", 3}}}});
  EXPECT_TRUE(has_problem(ps, "/model/depth", "unknown field"));
}

TEST(JobSpec, TransferFields) {
  JobSpec s = parse_job_spec(
      {{"model",
        {{"name", "resnet"},
         {"depth", 20},
         {"init", {{"checkpoint", "a.safetensors"}, {"exclude", {"fc.*"}}, {"replace_head", true}}},
         {"freeze", {"conv1.*", "layer1.*"}}}}});
  EXPECT_EQ(s.model.init.checkpoint, "a.safetensors");
  EXPECT_EQ(s.model.init.include, std::vector<std::string>{"*"});
  EXPECT_EQ(s.model.init.exclude, std::vector<std::string>{"fc.*"});
  EXPECT_TRUE(s.model.init.replace_head);
  EXPECT_EQ(s.model.freeze, (std::vector<std::string>{"conv1.*", "layer1.*"}));
  EXPECT_EQ(s.model.options, (nlohmann::json{{"depth", 20}}));
  auto ps = problems_of({{"model",
                          {{"init", {{"include", "x"}, {"extra", 1}}},
                           {"freeze", {"a", 3}},
                           {"checkpoint", "b.safetensors"}}}});
  EXPECT_TRUE(has_problem(ps, "/model/init/include", "array of strings"));
  EXPECT_TRUE(has_problem(ps, "/model/init/extra", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/model/init/checkpoint", "is required"));
  EXPECT_TRUE(has_problem(ps, "/model/freeze/1", "must be a string"));
  EXPECT_TRUE(has_problem(ps, "/model/checkpoint", "only for ensemble members"));
}

TEST(JobSpec, Ensembles) {
  JobSpec s = parse_job_spec(
      {{"model",
        {{"ensemble",
          {{{"name", "resnet"}, {"depth", 20}},
           {{"name", "googlenet"}, {"variant", "small"}, {"checkpoint", "g.safetensors"}}}}}}});
  EXPECT_EQ(s.model.name, "ensemble");
  ASSERT_EQ(s.model.ensemble.size(), 2u);
  EXPECT_EQ(s.model.ensemble[1].name, "googlenet");
  EXPECT_EQ(s.model.ensemble[1].checkpoint, "g.safetensors");
  EXPECT_EQ(s.model.ensemble[1].options, (nlohmann::json{{"variant", "small"}}));
  auto ps =
      problems_of({{"model",
                    {{"ensemble", {{{"name", "resnet"}, {"depth", 7}}, {{"name", "nope"}}, 3}},
                     {"name", "x"}}}});
  EXPECT_TRUE(has_problem(ps, "/model/ensemble/0/depth", "must be >= 8"));
  EXPECT_TRUE(has_problem(ps, "/model/ensemble/1/name", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/model/ensemble/2", "must be an object"));
  EXPECT_TRUE(has_problem(ps, "/model/name", "unknown field"));
  ps = problems_of({{"model", {{"ensemble", {{{"name", "resnet"}}}}}}});
  EXPECT_TRUE(has_problem(ps, "/model/ensemble", "at least 2"));
}

TEST(JobSpec, AugmentSteps) {
  JobSpec s = parse_job_spec({{"data",
                               {{"augment",
                                 {{{"type", "crop"}, {"padding", 4}},
                                  {{"type", "hflip"}},
                                  {{"type", "rotate"}, {"degrees", 10}, {"p", 0.3}, {"fill", 255}},
                                  {{"type", "color_jitter"}, {"brightness", 0.2}}}}}}});
  ASSERT_EQ(s.data.augment.size(), 4u);
  EXPECT_EQ(s.data.augment[0].kind, AugmentStep::Kind::crop);
  EXPECT_EQ(s.data.augment[0].padding, 4);
  EXPECT_EQ(s.data.augment[1].p, 0.5);
  EXPECT_EQ(s.data.augment[2].p, 0.3);
  EXPECT_EQ(s.data.augment[2].fill, 255);
  auto ps = problems_of({{"data",
                          {{"augment",
                            {{{"type", "warp"}},
                             {{"type", "rotate"}},
                             {{"type", "scale"}, {"min", 1.2}, {"max", 0.9}},
                             {{"type", "hflip"}, {"pixels", 2}},
                             {{"type", "cutout"}, {"size", 0}, {"p", 2}}}}}}});
  EXPECT_TRUE(has_problem(ps, "/data/augment/0/type", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/data/augment/1/degrees", "is required"));
  EXPECT_TRUE(has_problem(ps, "/data/augment/2/max", "must be >= min"));
  EXPECT_TRUE(has_problem(ps, "/data/augment/3/pixels", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/data/augment/4/size", "must be >= 1"));
  EXPECT_TRUE(has_problem(ps, "/data/augment/4/p", "must be <= 1"));
  EXPECT_TRUE(has_problem(problems_of({{"data", {{"augment", 3}}}}), "/data/augment", "array"));
}

TEST(JobSpec, SegmentationComposites) {
  JobSpec s = parse_job_spec(
      {{"data",
        {{"dataset", "fashion-composites"},
         {"composites", {{"size", 48}, {"train", 100}, {"test", 20}, {"max_items", 2}}}}}});
  EXPECT_EQ(s.data.options["composites"]["size"], 48);
  EXPECT_EQ(s.data.task, TaskKind::kSegmentation);
  EXPECT_EQ(parse_job_spec({{"data", {{"train_per_class", 10}}}}).data.train_per_class, 10);
  EXPECT_TRUE(has_problem(problems_of({{"data", {{"train_per_class", -1}}}}),
                          "/data/train_per_class", "must be >= 0"));
  auto ps = problems_of({{"data",
                          {{"dataset", "fashion-composites"},
                           {"composites", {{"size", 20}, {"extra", 1}}},
                           {"augment", {{{"type", "hflip"}}}}}}});
  EXPECT_TRUE(has_problem(ps, "/data/composites/size", "must be >= 28"));
  EXPECT_TRUE(has_problem(ps, "/data/composites/extra", "unknown field"));
  // Augmentation moves composites' masks with their pixels (augment.h).
  EXPECT_FALSE(has_problem(ps, "/data/augment", ""));
  EXPECT_TRUE(has_problem(problems_of({{"data", {{"composites", {{"size", 64}}}}}}),
                          "/data/composites", "is not a field of data set \"fashion-mnist\""));
}

}  // namespace
}  // namespace ringmaster::training
