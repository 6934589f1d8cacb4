// Fine-tuning face-api's pretrained network through the trainer, as a job
// spec asks: init from the tfjs manifest, freeze the backbone, train the
// classifier on lfw-subset with AdamW (weight decay would move any parameter
// the optimizer touched). The checkpoint's backbone must equal the manifest's
// weights bit for bit and the classifier must have moved. Skips without the
// data scripts/install-deps.sh fetches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "models/model_registry.h"
#include "models/safetensors.h"
#include "models/tfjs_weights.h"
#include "training/job_spec.h"
#include "training/trainer.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

class LogSink : public ProgressSink {
 public:
  void on_log(const std::string& line) override { lines.push_back(line); }
  void on_step(const StepProgress&) override {}
  void on_epoch(const EpochReport&) override { ++epochs; }
  std::vector<std::string> lines;
  int epochs = 0;
};

TEST(FaceApiFinetune, FrozenBackboneStaysThePretrainedWeights) {
  const std::string data = std::string(RINGMASTER_SOURCE_DIR) + "/data/";
  const std::string manifest = data + "face-api/face_recognition_model-weights_manifest.json";
  const std::string lfw = data + "lfw_subset.npy";
  if (!fs::exists(manifest) || !fs::exists(lfw))
    GTEST_SKIP() << manifest << " or " << lfw << " is missing; run scripts/install-deps.sh";
  const fs::path dir = fs::temp_directory_path() / ("rm_faceapi_" + std::to_string(::getpid()));
  const std::string ckpt = (dir / "final.safetensors").string();
  const nlohmann::json j = {
      {"name", "faceapi-freeze"},
      {"model",
       {{"name", "face_resnet"},
        {"init", {{"checkpoint", manifest}}},
        {"freeze", {"conv*", "fc.*"}}}},
      {"data",
       {{"dataset", "lfw-subset"},
        {"path", lfw},
        {"split_seed", 0},
        {"train_limit", 20},
        {"test_limit", 20}}},
      {"train", {{"epochs", 2}, {"batch_size", 10}, {"seed", 5}, {"device", "cpu"}}},
      {"optimizer", {{"name", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.1}}},
      {"checkpoint", {{"path", ckpt}}}};
  const training::JobSpec spec = training::parse_job_spec(j);
  LogSink sink;
  const TrainResult r = run_training(spec, sink);
  EXPECT_EQ(sink.epochs, 2);
  EXPECT_EQ(r.train_samples, 20);
  EXPECT_EQ(r.parameters, 5614592 + 128 * 2 + 2);
  bool said_trainable = false;
  for (const std::string& l : sink.lines)
    said_trainable |= l.find("(258 trainable)") != std::string::npos;
  EXPECT_TRUE(said_trainable);

  const models::TensorMap saved = models::load_safetensors(ckpt).tensors;
  fs::remove_all(dir);
  const models::TensorMap pretrained =
      models::tfjs_to_state_dict(models::load_tfjs_weights(manifest));
  for (const auto& [name, t] : pretrained) {
    ASSERT_TRUE(saved.count(name)) << name;
    EXPECT_EQ(saved.at(name).to_vector(), t.to_vector()) << name << " changed while frozen";
  }
  // The classifier is the only trained layer: it left its initial values.
  std::mt19937_64 rng(5);
  const auto fresh = models::build_model(
      "face_resnet", {.in_channels = 3, .num_classes = 2, .image_size = 150}, rng);
  for (const std::string name : {"classifier.weight", "classifier.bias"}) {
    const std::vector<float> a = saved.at(name).to_vector(),
                             b = fresh->state_dict().at(name).to_vector();
    double moved = 0.0;
    for (size_t i = 0; i < a.size(); ++i) moved = std::max(moved, std::fabs(double{a[i]} - b[i]));
    EXPECT_GT(moved, 1e-4) << name;
  }
}

}  // namespace
}  // namespace ringmaster::training
