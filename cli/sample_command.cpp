// `ringmaster sample` (see sample_command.h). The vocabulary is the one the
// model trained with: the spec's data set is loaded again (its training
// split decides the vocabulary, a pure function of the spec). Exit codes:
// 0 written, 1 data, checkpoint or model failure, 2 bad spec or usage.
#include "cli/sample_command.h"

#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "models/model_builder.h"
#include "models/rnn_lm.h"
#include "models/safetensors.h"
#include "models/text_corpus.h"
#include "ops/device_memory.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::cli {
namespace {

struct SampleOptions {
  std::string spec_path, checkpoint, prompt;
  int64_t length = 200;
  double temperature = 0.8;
  uint64_t seed = 1;
};

// The language model of `spec` with the checkpoint's weights, and its vocabulary.
std::pair<std::shared_ptr<models::RnnLm>, std::shared_ptr<const models::Vocabulary>> load_model(
    const training::JobSpec& spec, const std::string& checkpoint) {
  const models::Dataset train = training::load_data(spec.data, spec.train.seed).train;
  std::mt19937_64 rng(spec.train.seed);
  models::ModelConfig cfg;
  cfg.in_channels = cfg.image_size = 0;
  cfg.num_classes = train.num_classes;
  models::ModelSpec model_spec = spec.model;
  model_spec.init = {};  // the checkpoint has every weight
  auto model =
      std::dynamic_pointer_cast<models::RnnLm>(models::build_model_from_spec(model_spec, cfg, rng));
  if (model == nullptr)
    throw ops::Error("model \"" + spec.model.name + "\" is not a language model (rnn_lm)");
  model->load_state_dict(models::load_safetensors(checkpoint).tensors);
  return {model, train.vocab};
}

int run_sample(const SampleOptions& o) {
  training::JobSpec spec;
  try {
    spec = training::load_job_spec(o.spec_path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster sample: invalid spec %s:\n%s\n", o.spec_path.c_str(),
                 e.what());
    return 2;
  }
  if (spec.data.task != training::TaskKind::kLanguageModel) {
    std::fprintf(
        stderr, "ringmaster sample: %s: data set \"%s\" is %s, not text for a language model\n",
        o.spec_path.c_str(), spec.data.dataset.c_str(), training::to_string(spec.data.task));
    return 2;
  }
  try {
    if (spec.train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec.train.threads));
    const auto [model, vocab] = load_model(spec, o.checkpoint);
    // An empty prompt starts where a quote starts: after an <end>.
    std::vector<int64_t> prompt = models::encode_bytes(*vocab, o.prompt);
    prompt.insert(prompt.begin(), models::Vocabulary::kEnd);
    std::mt19937_64 rng(o.seed);
    const std::vector<int64_t> more = model->sample(prompt, o.length, o.temperature, rng);
    std::printf("%s%s\n", o.prompt.c_str(), models::decode_bytes(*vocab, more).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster sample: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void add_sample_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<SampleOptions>();
  CLI::App* cmd =
      app.add_subcommand("sample", "Write text from a trained language model (rnn_lm on text)");
  cmd->add_option("spec", opts->spec_path, "The job spec (JSON) the model trained with")
      ->required();
  cmd->add_option("checkpoint", opts->checkpoint, "Its checkpoint (.safetensors)")->required();
  cmd->add_option("--prompt", opts->prompt, "Text to continue (default: a quote's start)");
  cmd->add_option("--length", opts->length, "Characters to write (default 200)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--temperature", opts->temperature,
                  "Softmax temperature (default 0.8; 0: the most likely character each time)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--seed", opts->seed, "Seed of the draws (default 1)");
  cmd->callback([opts, &exit_code] { exit_code = run_sample(*opts); });
}

}  // namespace ringmaster::cli
