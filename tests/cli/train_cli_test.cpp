// `ringmaster train` as a user runs it: a real process on real data (sklearn
// digits), its exit code, its per-epoch lines when not on a terminal, the
// metrics JSON and the checkpoint; and a bad spec named by JSON pointer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ops/device_memory.h"
#include "tests/cli/run_cli.h"
#include "tests/detection_specs.h"
#include "tests/test_dir.h"

namespace {

namespace fs = std::filesystem;

using ringmaster::testing_support::CliResult;
using ringmaster::testing_support::slurp;

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ringmaster::testing_support::fresh_test_dir("train_cli"); }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult train(const nlohmann::json& spec, const std::string& extra = "") {
    const fs::path spec_path = dir_ / "spec.json";
    std::ofstream(spec_path) << spec.dump(2);
    return ringmaster::testing_support::run_ringmaster("train " + spec_path.string() + " " + extra,
                                                       dir_);
  }

  fs::path dir_;
};

std::string digits_path() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

TEST_F(TrainCli, TrainsDigitsAndWritesMetricsAndCheckpoint) {
  if (!fs::exists(digits_path()))
    GTEST_SKIP() << digits_path() << " missing: run scripts/install-deps.sh";
  const fs::path ckpt = dir_ / "final.safetensors";
  nlohmann::json spec = {
      {"name", "digits-cli"},
      {"data", {{"dataset", "digits"}, {"path", digits_path()}}},
      {"train", {{"epochs", 12}, {"batch_size", 32}, {"seed", 3}, {"threads", 2}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.002}}},
      {"checkpoint", {{"path", ckpt.string()}}}};
  CliResult r = train(spec, "--metrics-out " + (dir_ / "metrics.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  // Not a terminal: one plain line per epoch, no carriage-return bar.
  size_t epoch_lines = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) epoch_lines += line.rfind("epoch ", 0) == 0;
  EXPECT_EQ(epoch_lines, 12u) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);

  nlohmann::json m = nlohmann::json::parse(slurp(dir_ / "metrics.json"));
  for (const char* key :
       {"test_accuracy", "train_loss", "epochs", "images_per_second", "wall_seconds"})
    EXPECT_TRUE(m.contains(key)) << key;
  EXPECT_EQ(m["epochs"].get<int>(), 12);
  EXPECT_GT(m["images_per_second"].get<double>(), 0.0);
  // 504 held-out real digits; chance is 10%. DeepConvNet learns them well.
  EXPECT_GE(m["test_accuracy"].get<double>(), 0.90) << r.out;

  // The checkpoint is a safetensors file: u64 header length, then JSON.
  const std::string bytes = slurp(ckpt);
  ASSERT_GT(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  ASSERT_LE(8 + n, bytes.size());
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_TRUE(header.contains("conv1.weight")) << header.dump();
  EXPECT_EQ(header["conv1.weight"]["shape"], nlohmann::json({16, 1, 3, 3}));
  EXPECT_TRUE(fs::exists(dir_ / "final.optimizer.safetensors"));
}

TEST_F(TrainCli, ShowsAProgressBarOnATerminal) {
  if (!fs::exists(digits_path()))
    GTEST_SKIP() << digits_path() << " missing: run scripts/install-deps.sh";
  if (std::system("command -v script >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no `script` to make a pty";
  nlohmann::json spec = {{"data", {{"dataset", "digits"}, {"path", digits_path()}}},
                         {"train", {{"epochs", 2}, {"batch_size", 64}, {"threads", 1}}},
                         {"checkpoint", {{"path", (dir_ / "c.safetensors").string()}}}};
  const fs::path spec_path = dir_ / "spec.json";
  std::ofstream(spec_path) << spec.dump();
  // `script` runs the command on a pseudo-terminal, as a user's shell would.
  const std::string cmd = "script -qec '" + std::string(RINGMASTER_BIN) + " train " +
                          spec_path.string() + "' /dev/null >" + (dir_ / "tty.txt").string() +
                          " 2>&1 </dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string out = slurp(dir_ / "tty.txt");
  EXPECT_NE(out.find("\r\033[Kepoch 1/2 ["), std::string::npos) << out;
  EXPECT_NE(out.find("img/s  ETA "), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 2/2  train loss"), std::string::npos) << out;
}

TEST_F(TrainCli, BadSpecIsRejectedNamingTheField) {
  CliResult r = train({{"train", {{"batch_size", 0}}}, {"colour", "blue"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/train/batch_size: must be >= 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/colour: unknown field"), std::string::npos) << r.err;
}

TEST_F(TrainCli, MissingDataIsAClearFailure) {
  CliResult r =
      train({{"data", {{"dataset", "fashion-mnist"}, {"path", (dir_ / "nowhere").string()}}}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(TrainCli, CudaDeviceWithoutGpuIsAClearError) {
  if (ringmaster::ops::cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
  CliResult r = train({{"data", {{"dataset", "digits"}, {"path", digits_path()}}},
                       {"train", {{"device", "cuda"}, {"threads", 1}}},
                       {"checkpoint", {{"path", (dir_ / "c.safetensors").string()}}}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("train.device is \"cuda\" but no CUDA device is usable: " +
                       ringmaster::ops::cuda_unavailable_reason()),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "c.safetensors"));
}

TEST_F(TrainCli, Fp16WithoutGpuIsAClearError) {
  if (ringmaster::ops::cuda_device_count() > 0) GTEST_SKIP() << "this machine has a GPU";
  if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
  CliResult r = train({{"data", {{"dataset", "digits"}, {"path", digits_path()}}},
                       {"train", {{"precision", "fp16"}, {"threads", 1}}},
                       {"checkpoint", {{"path", (dir_ / "c.safetensors").string()}}}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("train.precision is \"fp16\" but training runs on the cpu (no GPU: " +
                       ringmaster::ops::cuda_unavailable_reason()),
            std::string::npos)
      << r.err;
}

TEST_F(TrainCli, AutoDeviceSaysWhereItTrains) {
  if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
  CliResult r = train(
      {{"data",
        {{"dataset", "digits"}, {"path", digits_path()}, {"train_limit", 64}, {"test_limit", 32}}},
       {"train", {{"device", "auto"}, {"threads", 1}, {"batch_size", 32}}},
       {"checkpoint", {{"path", (dir_ / "c.safetensors").string()}}}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const bool gpu = ringmaster::ops::cuda_device_count() > 0;
  const std::string want =
      gpu ? "device: cuda:0 (train.device \"auto\"" : "device: cpu, 1 threads (no GPU: ";
  EXPECT_NE(r.out.find(want), std::string::npos) << r.out;
  size_t lines = 0;
  for (size_t at = r.out.find("device: "); at != std::string::npos;
       at = r.out.find("device: ", at + 1))
    ++lines;
  EXPECT_EQ(lines, 1u) << "said once: " << r.out;
}

TEST_F(TrainCli, FineTunesFromACheckpointAndEnsemblesIt) {
  if (!fs::exists(digits_path()))
    GTEST_SKIP() << digits_path() << " missing: run scripts/install-deps.sh";
  const std::string pre = (dir_ / "pre.safetensors").string();
  const nlohmann::json data = {{"dataset", "digits"}, {"path", digits_path()}};
  const nlohmann::json train_opts = {{"epochs", 1}, {"batch_size", 32}, {"threads", 1}};
  CliResult r = train({{"model", {{"name", "resnet"}, {"depth", 8}}},
                       {"data", data},
                       {"train", train_opts},
                       {"checkpoint", {{"path", pre}}}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Fine-tune on 5 labels per class: the backbone from the checkpoint, a
  // fresh head, the stem frozen.
  r = train({{"model",
              {{"name", "resnet"},
               {"depth", 8},
               {"init", {{"checkpoint", pre}, {"replace_head", true}}},
               {"freeze", {"conv1.*", "bn1.*"}}}},
             {"data", {{"dataset", "digits"}, {"path", digits_path()}, {"train_per_class", 5}}},
             {"train", train_opts},
             {"checkpoint", {{"path", (dir_ / "ft.safetensors").string()}}}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("init: fresh head 'fc'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data: digits, 50 train"), std::string::npos) << r.out;  // 5 per class
  EXPECT_NE(r.out.find("freeze 'conv1.*': 1 parameters"), std::string::npos) << r.out;
  // A wrong architecture for the checkpoint names the first mismatching tensor.
  r = train(
      {{"model", {{"name", "resnet"}, {"depth", 8}, {"width", 8}, {"init", {{"checkpoint", pre}}}}},
       {"data", data},
       {"train", train_opts}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("shape mismatch for '"), std::string::npos) << r.err;
  // Ensemble: the pretrained net (frozen) and a fresh one trained beside it.
  r = train(
      {{"model",
        {{"ensemble",
          {{{"name", "resnet"}, {"depth", 8}, {"checkpoint", pre}}, {{"name", "deep_convnet"}}}}}},
       {"data", data},
       {"train", train_opts},
       {"checkpoint", {{"path", (dir_ / "ens.safetensors").string()}}}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("member 0: resnet loaded from"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: ensemble"), std::string::npos) << r.out;
  // Every member from a checkpoint: nothing to train, one evaluation, and its
  // line says so instead of showing zero train figures.
  const nlohmann::json loaded = {{"name", "resnet"}, {"depth", 8}, {"checkpoint", pre}};
  r = train({{"model", {{"ensemble", {loaded, loaded}}}}, {"data", data}, {"train", train_opts}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nothing to train: evaluating only"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("evaluation only  test loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("evaluation only (nothing trained)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("train loss"), std::string::npos) << r.out;
}

// A small Faster R-CNN on composites with boxes: its log line and the
// final line give mAP (the mean of the per-class APs listed), and the
// metrics file has test_map50 and test_map.
TEST_F(TrainCli, TrainsADetectorAndReportsItsMap) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST missing: run scripts/install-deps.sh";
  CliResult r =
      train({{"model", ringmaster::testing_support::small_faster_rcnn()},
             {"data",
              {{"dataset", "fashion-composites"},
               {"targets", "boxes"},
               {"composites", {{"size", 48}, {"train", 32}, {"test", 8}, {"max_items", 2}}}}},
             {"train", {{"epochs", 1}, {"batch_size", 8}, {"threads", 1}}},
             {"checkpoint", {{"path", (dir_ / "det.safetensors").string()}}}},
            "--metrics-out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("epoch 1: test mAP@0.5 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done: test mAP@0.5 "), std::string::npos) << r.out;
  const nlohmann::json m = nlohmann::json::parse(slurp(dir_ / "m.json"));
  for (const char* name : {"test_map50", "test_map"}) {
    ASSERT_TRUE(m.contains(name)) << m.dump();
    EXPECT_GE(m[name].get<double>(), 0.0);
    EXPECT_LE(m[name].get<double>(), 1.0);
  }
  EXPECT_LE(m["test_map"].get<double>(), m["test_map50"].get<double>() + 1e-9);

  // `ringmaster detect`: the held-out images with their mAP, drawn; then one
  // of them read back from its file finds the same objects.
  const std::string base =
      "detect " + (dir_ / "spec.json").string() + " " + (dir_ / "det.safetensors").string();
  const CliResult test = ringmaster::testing_support::run_ringmaster(
      base + " --test 3 --json --min-score 0 --out " + (dir_ / "drawn").string() +
          " --write-images " + (dir_ / "raw").string(),
      dir_);
  ASSERT_EQ(test.exit_code, 0) << test.out << test.err;
  const nlohmann::json found = nlohmann::json::parse(test.out);
  ASSERT_EQ(found.at("images").size(), 3u) << test.out;
  EXPECT_GE(found.at("map50").get<double>(), 0.0);
  const std::vector<std::string> names = {"background", "t-shirt", "trouser",   "pullover",
                                          "dress",      "coat",    "sandal",    "shirt",
                                          "sneaker",    "bag",     "ankle boot"};
  for (const nlohmann::json& image : found["images"]) {
    for (const nlohmann::json& d : image.at("detections")) {
      const int label = d.at("label").get<int>();
      ASSERT_GE(label, 1);
      ASSERT_LE(label, 10);
      EXPECT_EQ(d.at("class").get<std::string>(), names[static_cast<size_t>(label)]);
      for (const double v : d.at("box").get<std::vector<double>>()) {
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 48.0);
      }
    }
  }
  for (int i = 0; i < 3; ++i) {
    const std::string png = "test-" + std::to_string(i) + ".png";
    EXPECT_TRUE(fs::exists(dir_ / "drawn" / png));
    EXPECT_TRUE(fs::exists(dir_ / "raw" / png));
  }
  const CliResult file = ringmaster::testing_support::run_ringmaster(
      base + " --json --min-score 0 " + (dir_ / "raw" / "test-0.png").string(), dir_);
  ASSERT_EQ(file.exit_code, 0) << file.out << file.err;
  ASSERT_FALSE(found["images"][0]["detections"].empty()) << test.out;
  EXPECT_EQ(nlohmann::json::parse(file.out)["images"][0]["detections"],
            found["images"][0]["detections"]);
  const CliResult wrong = ringmaster::testing_support::run_ringmaster(
      "detect " + (dir_ / "spec.json").string() + " " + (dir_ / "det.safetensors").string(), dir_);
  EXPECT_EQ(wrong.exit_code, 2) << wrong.out << wrong.err;  // neither images nor --test
}

TEST_F(TrainCli, SegmentsFashionCompositesWithFcn) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST missing: run scripts/install-deps.sh";
  CliResult r =
      train({{"model",
              {{"name", "fcn"},
               {"head", "16s"},
               {"backbone", {{"stack", {8, "M", 16, "M", 16, "M"}}}},
               {"head_width", 16},
               {"head_kernel", 1}}},
             {"data",
              {{"dataset", "fashion-composites"},
               {"composites", {{"size", 32}, {"train", 64}, {"test", 16}, {"max_items", 1}}}}},
             {"train", {{"epochs", 1}, {"batch_size", 16}, {"threads", 1}}},
             {"checkpoint", {{"path", (dir_ / "fcn.safetensors").string()}}}},
            "--metrics-out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // "mean IoU M; per class (0 = background): 0 v0 1 v1 ... 10 v10" (v: IoU,
  // or "-" for a class absent from truth and prediction); M is their mean.
  const size_t at = r.out.find("mean IoU ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const size_t classes_at = r.out.find("per class (0 = background):", at);
  ASSERT_NE(classes_at, std::string::npos) << r.out;
  const double mean = std::stod(r.out.substr(at + 9));
  std::istringstream per_class(
      r.out.substr(classes_at + 27, r.out.find('\n', classes_at) - classes_at - 27));
  std::string k, v;
  double sum = 0.0;
  int listed = 0, present = 0;
  while (per_class >> k >> v) {
    EXPECT_EQ(std::stoi(k), listed) << r.out;
    ++listed;
    if (v == "-") continue;
    const double iou = std::stod(v);
    EXPECT_GE(iou, 0.0);
    EXPECT_LE(iou, 1.0);
    sum += iou;
    ++present;
  }
  EXPECT_EQ(listed, 11) << r.out;  // background + 10 clothing classes
  ASSERT_GT(present, 0) << r.out;
  EXPECT_NEAR(sum / present, mean, 6e-4) << r.out;  // three decimals each, four for the mean
  const nlohmann::json m = nlohmann::json::parse(slurp(dir_ / "m.json"));
  ASSERT_TRUE(m.contains("test_mean_iou")) << m.dump();
  EXPECT_GE(m["test_mean_iou"].get<double>(), 0.0);
  EXPECT_LE(m["test_mean_iou"].get<double>(), 1.0);
}

}  // namespace

namespace {

// A character LSTM on fortunes, then `ringmaster sample` from its checkpoint.
TEST_F(TrainCli, TrainsACharacterLanguageModelAndSamplesFromIt) {
  if (!fs::exists("/usr/share/games/fortunes/fortunes"))
    GTEST_SKIP() << "Debian's fortunes missing: run scripts/install-deps.sh";
  const fs::path ckpt = dir_ / "lm.safetensors";
  const nlohmann::json spec = {
      {"model", {{"name", "rnn_lm"}, {"hidden_size", 64}, {"embedding_size", 32}}},
      {"data",
       {{"dataset", "fortunes"}, {"seq_len", 48}, {"train_limit", 1500}, {"test_limit", 300}}},
      {"train", {{"epochs", 2}, {"batch_size", 32}, {"threads", 2}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.005}, {"clip_grad_norm", 1.0}}},
      {"checkpoint", {{"path", ckpt.string()}}}};
  CliResult r = train(spec, "--metrics-out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("bits per character"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" seq/s, "), std::string::npos) << r.out;  // text: sequences, not images
  EXPECT_NE(r.out.find("done: test perplexity "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("img/s"), std::string::npos) << r.out;
  const nlohmann::json m = nlohmann::json::parse(slurp(dir_ / "m.json"));
  const double loss = m.at("test_loss").get<double>();
  const double perplexity = m.at("test_figures").at("perplexity").get<double>();
  const double bpc = m.at("test_figures").at("bits_per_char").get<double>();
  EXPECT_NEAR(perplexity, std::exp(loss), 1e-6 * perplexity);
  EXPECT_NEAR(bpc, loss / std::log(2.0), 1e-9);
  // Better than guessing uniformly among ~100 characters (6.6 bits).
  EXPECT_LT(bpc, 5.0) << r.out;

  const fs::path spec_path = dir_ / "spec.json";
  const std::string sample = "sample " + spec_path.string() + " " + ckpt.string() +
                             " --prompt 'The ' --length 40 --temperature 0";
  const CliResult a = ringmaster::testing_support::run_ringmaster(sample, dir_);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_EQ(a.out.rfind("The ", 0), 0u) << a.out;
  EXPECT_GT(a.out.size(), 4u + 1u);
  EXPECT_EQ(ringmaster::testing_support::run_ringmaster(sample, dir_).out, a.out);  // greedy
  // A spec that is not a language model is refused naming why.
  const CliResult images = ringmaster::testing_support::run_ringmaster(
      "sample " + std::string(RINGMASTER_SOURCE_DIR) + "/examples/quickstart.json " + ckpt.string(),
      dir_);
  EXPECT_EQ(images.exit_code, 2);
  EXPECT_NE(images.err.find("not text for a language model"), std::string::npos) << images.err;
}

}  // namespace

namespace {

// A small NIC on fashion-captions, then `ringmaster caption` on held-out
// images and on one of them written as a PNG file: the same caption.
TEST_F(TrainCli, TrainsACaptionerAndCaptionsImages) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST missing: run scripts/install-deps.sh";
  const fs::path ckpt = dir_ / "nic.safetensors";
  const nlohmann::json spec = {
      {"model",
       {{"name", "nic"},
        {"encoder", {{"name", "resnet"}, {"depth", 8}}},
        {"embedding_size", 16},
        {"hidden_size", 32},
        {"beam_size", 2}}},
      {"data", {{"dataset", "fashion-captions"}, {"captions", {{"train", 96}, {"test", 8}}}}},
      {"train", {{"epochs", 1}, {"batch_size", 16}, {"threads", 2}}},
      {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
      {"checkpoint", {{"path", ckpt.string()}}}};
  CliResult r = train(spec, "--metrics-out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("test BLEU-4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done: test BLEU-4 "), std::string::npos) << r.out;  // the final line too
  const nlohmann::json f = nlohmann::json::parse(slurp(dir_ / "m.json")).at("test_figures");
  for (const char* name :
       {"bleu_1", "bleu_2", "bleu_3", "bleu_4", "bleu_4_greedy", "exact_match"}) {
    ASSERT_TRUE(f.contains(name)) << f.dump();
    EXPECT_GE(f[name].get<double>(), 0.0) << name;
    EXPECT_LE(f[name].get<double>(), 1.0) << name;
  }
  EXPECT_GE(f.at("cider_d").get<double>(), 0.0);

  const fs::path spec_path = dir_ / "spec.json";
  const std::string base = "caption " + spec_path.string() + " " + ckpt.string();
  const CliResult test = ringmaster::testing_support::run_ringmaster(
      base + " --test 8 --write-images " + (dir_ / "images").string(), dir_);
  ASSERT_EQ(test.exit_code, 0) << test.out << test.err;
  // The same 8 held-out images and decoding as the trainer's evaluation: the
  // same corpus scores.
  const size_t scores = test.out.find("8 test images, beam 2, length normalization 0: BLEU-1 ");
  ASSERT_NE(scores, std::string::npos) << test.out;
  EXPECT_NEAR(std::stod(test.out.substr(scores + 54)), f.at("bleu_1").get<double>(), 1e-4)
      << test.out;
  const size_t first = test.out.find("test 0: "), second = test.out.find("test 1: ");
  ASSERT_NE(first, std::string::npos) << test.out;
  ASSERT_NE(second, std::string::npos) << test.out;
  EXPECT_NE(test.out.find("  reference: "), std::string::npos) << test.out;
  const std::string caption0 = test.out.substr(first + 8, test.out.find('\n', first) - first - 8);
  const fs::path png = dir_ / "images" / "test-0.png";
  ASSERT_TRUE(fs::exists(png));
  const CliResult file =
      ringmaster::testing_support::run_ringmaster(base + " " + png.string(), dir_);
  ASSERT_EQ(file.exit_code, 0) << file.out << file.err;
  EXPECT_EQ(file.out, png.string() + ": " + caption0 + "\n");
  // An image of another size is resized to the data's; a file that is no
  // image is refused, naming it.
  const fs::path small = dir_ / "small.pgm";
  std::ofstream(small, std::ios::binary) << "P5\n8 8\n255\n" << std::string(64, '\x80');
  const CliResult resized =
      ringmaster::testing_support::run_ringmaster(base + " " + small.string(), dir_);
  EXPECT_EQ(resized.exit_code, 0) << resized.err;
  EXPECT_EQ(resized.out.rfind(small.string() + ": ", 0), 0u) << resized.out;
  const fs::path fake = dir_ / "fake.png";
  std::ofstream(fake) << "no picture";
  const CliResult wrong =
      ringmaster::testing_support::run_ringmaster(base + " " + fake.string(), dir_);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find(fake.string() + ": not an image"), std::string::npos) << wrong.err;
}

}  // namespace
