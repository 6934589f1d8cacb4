// run_training (see trainer.h): the training loop, in four parts: setup
// (device, data, model, optimizer, gradient sync), the step, the epoch's
// evaluation and report, and the checkpoint. What varies lives behind
// interfaces: the data set (dataset_registry.h), the task (task.h), the
// model's training outputs (models::Module::training_heads) and how ranks
// keep in step (gradient_sync.h); this file names none of them.
#include "training/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>

#include "comm/comm_error.h"
#include "models/model_builder.h"
#include "models/safetensors.h"
#include "ops/add.h"
#include "ops/autograd.h"
#include "ops/cast.h"
#include "ops/device_memory.h"
#include "training/checkpoint_store.h"
#include "training/dataset_registry.h"
#include "training/grad_clip.h"
#include "training/grad_scaler.h"
#include "training/gradient_sync.h"
#include "training/lr_schedule.h"
#include "training/optimizer.h"
#include "training/run_position.h"
#include "training/spec_optimizer.h"
#include "training/task.h"

namespace ringmaster::training {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Forwards rank 0's everything; other ranks' log lines only, marked with the
// rank (their steps and epochs are rank 0's, which reports the summed figures).
class RankSink : public ProgressSink {
 public:
  RankSink(ProgressSink& inner, int rank) : inner_(inner), rank_(rank) {}
  void on_log(const std::string& line) override {
    inner_.on_log(rank_ == 0 ? line : "rank " + std::to_string(rank_) + ": " + line);
  }
  void on_step(const StepProgress& p) override {
    if (rank_ == 0) inner_.on_step(p);
  }
  void on_epoch(const EpochReport& r) override {
    if (rank_ == 0) inner_.on_epoch(r);
  }

 private:
  ProgressSink& inner_;
  int rank_;
};

// The optimizer's state beside the checkpoint, for an exact resume:
// <path without .safetensors>.optimizer.safetensors.
std::string optimizer_state_path(std::string path) {
  const std::string ext = ".safetensors";
  if (path.size() > ext.size() && path.ends_with(ext)) path.resize(path.size() - ext.size());
  return path + ".optimizer.safetensors";
}

// One epoch's training figures, this rank's until summed.
struct EpochTally {
  Tally train;
  double global_samples = 0.0;  // all ranks' samples this epoch
  double seconds_before = 0.0;  // resumed: this epoch's training seconds before the checkpoint
  double lr = 0.0;
  Clock::time_point start = Clock::now();
  // This epoch's training seconds so far, an earlier attempt's included.
  double seconds() const { return seconds_before + seconds_since(start); }
};

// `dp` (none when null) with the run's cancel flag.
std::optional<DataParallel> with_cancel(const DataParallel* dp, const std::atomic<bool>* cancel) {
  if (dp == nullptr) return std::nullopt;
  DataParallel copy = *dp;
  copy.cancel = cancel;
  return copy;
}

class Trainer {
 public:
  Trainer(const JobSpec& spec, ProgressSink& sink, const RunOptions& run)
      : spec_(spec),
        run_(run),
        cancel_(run.cancel),
        dp_(with_cancel(run.dp, run.cancel)),
        rank_(dp_ ? dp_->rank : 0),
        world_(dp_ ? dp_->world_size : 1),
        sink_(sink, rank_) {}

  TrainResult run() {
    setup();
    for (int64_t epoch = from_.epoch; epoch < spec_.train.epochs; ++epoch) {
      EpochTally e;
      int64_t first_step = 0;
      if (epoch == from_.epoch && from_.steps > 0) {  // resumed: this epoch so far
        e.train = task_->new_tally();
        size_t at = 0;
        if (rank_ == 0 && !from_.epoch_tally.empty()) e.train.read_from(from_.epoch_tally, at);
        e.global_samples = from_.epoch_samples;
        e.seconds_before = from_.epoch_seconds;
        first_step = from_.step_in_epoch;
      }
      if (!guarded([&] { train_epoch(epoch, first_step, e); }) || result_.cancelled) break;
      if (!guarded([&] { end_epoch(epoch, e); })) break;
      const int64_t every = spec_.checkpoint.every_epochs;
      if (every > 0 && (epoch + 1) % every == 0 && trainable_ > 0 &&
          !guarded([&] { save_checkpoint(epoch + 1, 0, nullptr); }))
        break;
      if (trainable_ == 0) break;  // one evaluation is all there is
    }
    finish();
    return result_;
  }

 private:
  void setup();
  void setup_device();
  void setup_data();
  void setup_model();
  void setup_checkpoints();
  void resume();
  void train_epoch(int64_t epoch, int64_t first_step, EpochTally& e);
  void train_step(const models::Batch& b, int64_t epoch, int64_t step, EpochTally& e);
  bool apply_update(int64_t epoch, int64_t step);
  void report_step(const models::Batch& b, int64_t epoch, int64_t step, const EpochTally& e,
                   Clock::time_point step_start);
  Tally evaluate();
  void end_epoch(int64_t epoch, EpochTally& e);
  void finish();
  void write_checkpoint();
  // A periodic checkpoint at this position (every rank takes part: the
  // epoch's figures are summed; rank 0 writes). `e`: the epoch so far, or
  // null at an epoch's start.
  void save_checkpoint(int64_t epoch, int64_t step_in_epoch, const EpochTally* e);

  // The model's training outputs in f32, and the loss summed over them.
  std::pair<ops::Tensor, ops::Tensor> forward_loss(const models::Batch& b);
  // What the model reads of b: the images on the device (in f16 when
  // training in fp16), token ids on the cpu.
  models::ModelInput input(const models::Batch& b) const {
    models::ModelInput in = task_->model_input(b);
    if (in.images.defined()) {
      in.images = in.images.to(device_);
      if (half_) in.images = ops::cast(in.images, ops::DType::f16);
    }
    return in;
  }
  // Runs f; a peer's failure ends the run (false) when the job is being
  // cancelled, else is rethrown naming this rank.
  template <class F>
  bool guarded(F f) {
    try {
      f();
      return true;
    } catch (const comm::CommError& e) {
      if (cancelled()) {
        sink_.on_log(std::string("cancelled while waiting on the peers: ") + e.what());
        result_.cancelled = true;
        return false;
      }
      throw PeerLost("data-parallel rank " + std::to_string(rank_) + ": " + e.what());
    }
  }
  bool cancelled() const { return cancel_ != nullptr && cancel_->load(); }

  const JobSpec& spec_;
  const RunOptions& run_;
  const std::atomic<bool>* cancel_;
  // The run's place among its peers, whose waits watch the cancel flag.
  const std::optional<DataParallel> dp_;
  const int rank_, world_;
  RankSink sink_;
  const Clock::time_point start_ = Clock::now();
  TrainResult result_;

  ops::Device device_ = ops::Device::cpu();
  bool half_ = false;
  std::optional<GradScaler> scaler_;
  TrainTestData data_;
  std::unique_ptr<Task> task_;
  std::shared_ptr<const models::Augmenter> augment_;
  std::shared_ptr<models::Module> model_;
  int64_t trainable_ = 0;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<LrSchedule> schedule_;
  int64_t steps_per_epoch_ = 0;
  std::unique_ptr<GradientSync> sync_;
  std::vector<ops::Tensor> running_stats_;  // f32 buffers (batch-norm statistics)
  double train_seconds_ = 0.0, train_samples_ = 0.0;
  int64_t last_checkpoint_step_ = -1;     // steps at the newest periodic checkpoint written
  std::optional<CheckpointStore> store_;  // periodic checkpoints, or resume
  RunPosition from_;                      // where training starts (resumed: the checkpoint's)
};

void Trainer::setup() {
  RM_THROW_IF(world_ < 1 || rank_ < 0 || rank_ >= world_, "rank ", rank_, " outside world size ",
              world_);
  result_.rank = rank_;
  result_.world_size = world_;
  setup_device();
  setup_data();
  setup_model();
  const int64_t batch = spec_.train.batch_size;
  steps_per_epoch_ = (result_.train_samples + batch - 1) / batch;
  sync_ = make_gradient_sync(spec_, dp_ ? &*dp_ : nullptr, *model_, steps_per_epoch_);
  if (world_ > 1) {
    result_.sync_mode = to_string(spec_.sync.mode);
    result_.sync_compression = to_string(spec_.sync.compression);
  }
  if (const std::string line = sync_->describe(); !line.empty()) sink_.on_log(line);
  if (trainable_ == 0) sink_.on_log("nothing to train: evaluating only");
  if (!spec_.data.augment.empty()) {
    augment_ = std::make_shared<models::Augmenter>(spec_.data.augment);
    std::string steps;
    for (const auto& st : spec_.data.augment)
      steps += std::string(steps.empty() ? "" : ", ") + models::augment_kind_name(st.kind);
    sink_.on_log("augment: " + steps);
  }
  setup_checkpoints();
}

void Trainer::setup_checkpoints() {
  const CheckpointSpec& c = spec_.checkpoint;
  if (c.every_epochs > 0 || c.every_steps > 0 || run_.resume) store_.emplace(c.dir, c.keep);
  if (c.every_epochs > 0 || c.every_steps > 0)
    sink_.on_log("checkpoints: every " +
                 (c.every_epochs > 0 ? std::to_string(c.every_epochs) + " epoch(s)" : "") +
                 (c.every_epochs > 0 && c.every_steps > 0 ? " and every " : "") +
                 (c.every_steps > 0 ? std::to_string(c.every_steps) + " step(s)" : "") +
                 ", the newest " + std::to_string(c.keep) + " kept in " + c.dir);
  if (run_.resume) guarded([&] { resume(); });
}

// Rank 0 picks the newest whole checkpoint and every rank loads that one.
void Trainer::resume() {
  std::optional<StoredCheckpoint> found;
  if (rank_ == 0) found = store_->newest([&](const std::string& line) { sink_.on_log(line); });
  std::vector<double> step = {rank_ == 0 && found ? static_cast<double>(found->step) + 1.0 : 0.0};
  step = sync_->sum(step);
  if (step[0] < 1.0) {
    sink_.on_log("resume: no whole checkpoint in " + store_->dir() +
                 "; starting from the beginning");
    return;
  }
  if (!found) found = store_->load(static_cast<int64_t>(step[0]) - 1);
  const RunPosition p = run_position_from_json(found->state);
  RM_THROW_IF(p.seed != static_cast<uint64_t>(spec_.train.seed) ||
                  p.batch_size != spec_.train.batch_size || p.steps_per_epoch != steps_per_epoch_,
              "checkpoint ", found->folder, " is of another run: train.seed ", p.seed,
              ", train.batch_size ", p.batch_size, " and ", p.steps_per_epoch,
              " steps per epoch, this spec's ", spec_.train.seed, ", ", spec_.train.batch_size,
              " and ", steps_per_epoch_);
  model_->load_state_dict(found->model);
  optimizer_->load_state(found->optimizer);
  restore_dropout_calls(*model_, p.dropout_calls);
  if (scaler_ && p.scaler)
    scaler_->restore(p.scaler->scale, p.scaler->good_in_a_row, p.scaler->skipped);
  from_ = p;
  result_.steps = p.steps;
  result_.epochs = p.epochs_done;
  result_.train_loss = p.train_loss;
  result_.train_accuracy = p.train_accuracy;
  result_.test_loss = p.test_loss;
  result_.test_accuracy = p.test_accuracy;
  result_.test_mean_iou = p.test_mean_iou;
  result_.test_figures = p.test_figures;
  result_.resumed_from_step = p.steps;
  // The whole epochs' totals: the resumed epoch adds its own at its end,
  // the part before the checkpoint included.
  train_seconds_ = p.train_seconds - p.epoch_seconds;
  train_samples_ = p.train_samples - p.epoch_samples;
  sink_.on_log("resume: from " + found->folder + " (epoch " + std::to_string(p.epoch + 1) +
               ", step " + std::to_string(p.step_in_epoch) + " of " +
               std::to_string(steps_per_epoch_) + " done, " + std::to_string(p.steps) +
               " steps in all)");
}

void Trainer::save_checkpoint(int64_t epoch, int64_t step_in_epoch, const EpochTally* e) {
  RunPosition p;
  p.epoch = epoch;
  p.step_in_epoch = step_in_epoch;
  p.steps = result_.steps;
  p.seed = spec_.train.seed;
  p.batch_size = spec_.train.batch_size;
  p.steps_per_epoch = steps_per_epoch_;
  p.dropout_calls = dropout_calls(*model_);
  if (scaler_)
    p.scaler =
        ScalerState{scaler_->scale(), scaler_->good_steps_in_a_row(), scaler_->skipped_steps()};
  if (e != nullptr) {
    e->train.append_to(p.epoch_tally);
    p.epoch_tally = sync_->sum(p.epoch_tally);
    p.epoch_samples = e->global_samples;
    p.epoch_seconds = e->seconds();
    p.train_seconds = train_seconds_ + p.epoch_seconds;
  } else {
    p.train_seconds = train_seconds_;
  }
  p.train_samples = train_samples_ + (e != nullptr ? e->global_samples : 0.0);
  p.epochs_done = result_.epochs;
  p.train_loss = result_.train_loss;
  p.train_accuracy = result_.train_accuracy;
  p.test_loss = result_.test_loss;
  p.test_accuracy = result_.test_accuracy;
  p.test_mean_iou = result_.test_mean_iou;
  p.test_figures = result_.test_figures;
  if (rank_ != 0) return;
  const auto t0 = Clock::now();
  const std::string folder =
      store_->write(result_.steps, model_->state_dict(), optimizer_->state(), to_json(p));
  ++result_.checkpoints_written;
  last_checkpoint_step_ = result_.steps;
  sink_.on_log("checkpoint: " + folder + " (" + std::to_string(seconds_since(t0)) + " s)");
}

void Trainer::setup_device() {
  if (spec_.train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec_.train.threads));
  result_.threads = ops::cpu_threads();
  const DevicePick pick = pick_device(spec_.train.device, run_.gpus, ops::cuda_device_count(),
                                      result_.threads, ops::cuda_unavailable_reason());
  sink_.on_log(pick.log_line);
  device_ = pick.cuda_ordinal >= 0 ? ops::Device::cuda(pick.cuda_ordinal) : ops::Device::cpu();
  half_ = spec_.train.precision == Precision::kFp16;
  RM_THROW_IF(half_ && !device_.is_cuda(), "train.precision is \"fp16\" but training runs on the ",
              "cpu (no GPU: ", ops::cuda_unavailable_reason(), ")");
  result_.device = device_.str();
  result_.precision = to_string(spec_.train.precision);
  if (half_) {
    scaler_.emplace();
    sink_.on_log("precision: fp16 compute, fp32 master weights, loss scale " +
                 std::to_string(static_cast<int64_t>(scaler_->scale())) + " (dynamic)");
  }
}

void Trainer::setup_data() {
  data_ = load_data(spec_.data, spec_.train.seed);
  result_.train_samples = data_.train.size();
  result_.sample_unit = data_.train.images.defined() ? "img" : "seq";
  result_.test_samples = data_.test.size();
  RM_THROW_IF(result_.train_samples == 0, "the training set is empty");
  std::string what;
  if (const ops::Tensor& x = data_.train.images; x.defined())
    what = " images of " + ops::shape_str({x.dim(1), x.dim(2), x.dim(3)});
  if (const ops::Tensor& t = data_.train.tokens; t.defined() && t.ndim() == 3)
    what += ", " + std::to_string(t.dim(1)) + " sentences each, up to " + std::to_string(t.dim(2)) +
            " tokens (vocabulary " + std::to_string(data_.train.num_classes) + ")";
  else if (!data_.train.images.defined())
    what = " windows of " + std::to_string(data_.train.tokens.dim(1)) + " tokens (vocabulary " +
           std::to_string(data_.train.num_classes) + ")";
  sink_.on_log("data: " + spec_.data.dataset + ", " + std::to_string(result_.train_samples) +
               " train / " + std::to_string(result_.test_samples) + " test" + what);
  task_ = make_task(spec_.data.task, data_.train.num_classes);
  task_->prepare(data_.test);
}

void Trainer::setup_model() {
  std::mt19937_64 rng(spec_.train.seed);
  models::ModelConfig cfg;
  cfg.num_classes = data_.train.num_classes;
  if (const ops::Tensor& x = data_.train.images; x.defined()) {
    cfg.in_channels = static_cast<int>(x.dim(1));
    cfg.image_size = static_cast<int>(x.dim(2));
  } else {
    cfg.in_channels = cfg.image_size = 0;  // text
  }
  std::vector<std::string> build_log;
  model_ = models::build_model_from_spec(spec_.model, cfg, rng, &build_log);
  for (const std::string& line : build_log) sink_.on_log(line);
  result_.parameters = model_->num_parameters();
  trainable_ = model_->num_parameters(/*trainable_only=*/true);
  sink_.on_log("model: " + spec_.model.name + ", " + std::to_string(result_.parameters) +
               " parameters (" + std::to_string(trainable_) + " trainable)");
  model_->train(true);
  model_->to(device_);  // before the optimizer, whose state follows the parameters
  for (const auto& [name, t] : model_->named_buffers())
    if (t.dtype() == ops::DType::f32) running_stats_.push_back(t);
  optimizer_ = make_optimizer(spec_.optimizer, model_->named_parameters());
  schedule_ = LrSchedule::from_json(
      spec_.lr_schedule.empty() ? nlohmann::json{{"type", "constant"}} : spec_.lr_schedule,
      spec_.optimizer.lr);
}

void Trainer::train_epoch(int64_t epoch, int64_t first_step, EpochTally& e) {
  models::BatchLoaderOptions lo{.batch_size = spec_.train.batch_size,
                                .seed = spec_.train.seed,
                                .epoch = epoch,
                                .shuffle = true,
                                .drop_last = false,
                                .augment = augment_};
  lo.rank = rank_;
  lo.world_size = world_;
  lo.start_batch = first_step;
  models::BatchLoader loader(data_.train, lo);
  if (first_step == 0) e.train = task_->new_tally();
  int64_t step = first_step;
  const int64_t every = spec_.checkpoint.every_steps;
  while (auto b = trainable_ > 0 ? loader.next() : std::nullopt) {
    if (cancelled()) {
      result_.cancelled = true;
      break;
    }
    train_step(*b, epoch, step++, e);
    if (result_.cancelled) break;
    if (every > 0 && result_.steps % every == 0) save_checkpoint(epoch, step, &e);
  }
  train_seconds_ += e.seconds();
  train_samples_ += e.global_samples;
}

std::pair<ops::Tensor, ops::Tensor> Trainer::forward_loss(const models::Batch& b) {
  std::vector<ops::Tensor> heads = model_->training_heads_batch(input(b));
  ops::Tensor loss;
  for (ops::Tensor& h : heads) {
    h = ops::cast(h, ops::DType::f32);
    ops::Tensor l = task_->loss(h, b, device_);
    loss = loss.defined() ? ops::add(loss, l) : l;
  }
  return {model_->combine_heads(heads), loss};
}

void Trainer::train_step(const models::Batch& b, int64_t epoch, int64_t step, EpochTally& e) {
  const auto step_start = Clock::now();
  e.lr = schedule_->lr_at(epoch, step, steps_per_epoch_);
  optimizer_->set_lr(e.lr);
  optimizer_->zero_grad();
  const int64_t n = b.labels.dim(0);
  sync_->begin_step(static_cast<double>(n) / static_cast<double>(b.global_size));
  const double seed = sync_->backward_seed();
  std::optional<ops::LeafGradHookGuard> hook;
  if (ops::LeafGradHook h = sync_->backward_hook()) hook.emplace(std::move(h));
  // A rank whose share of a short last batch is empty skips forward and
  // backward but still takes part in the sync (with zeros) and the step.
  ops::Tensor prediction, loss;
  if (n > 0) {
    std::tie(prediction, loss) = forward_loss(b);
    if (scaler_)
      scaler_->backward(loss, seed);
    else if (seed != 1.0)
      loss.backward(ops::Tensor::full(loss.shape(), static_cast<float>(seed)));
    else
      loss.backward();
  }
  hook.reset();
  if (!guarded([&] { apply_update(epoch, step); })) return;
  ++result_.steps;
  e.global_samples += static_cast<double>(b.global_size);
  if (n == 0) return;
  const double l = loss.item();
  RM_THROW_IF(!std::isfinite(l) && !scaler_, "training diverged: loss is ", l, " at epoch ",
              epoch + 1, " step ", step + 1, " (lower the learning rate)");
  if (std::isfinite(l)) {
    e.train.loss_sum += l * static_cast<double>(n);
    e.train.loss_samples += static_cast<double>(n);
  }
  task_->count(prediction, b, e.train);
  e.train.samples += static_cast<double>(n);
  report_step(b, epoch, step, e, step_start);
}

// The step through the sync: its own (the shards'), or this rank's optimizer,
// which in fp16 skips a step whose gradients overflowed and lowers the scale.
bool Trainer::apply_update(int64_t epoch, int64_t step) {
  return sync_->finish_step(result_.steps, [&] {
    const auto clip = [&] {
      if (spec_.optimizer.clip_grad_norm > 0.0)
        clip_grad_norm(*optimizer_, spec_.optimizer.clip_grad_norm);
    };
    if (!scaler_) {
      clip();
      optimizer_->step();
      return true;
    }
    const double before = scaler_->scale();
    if (scaler_->step(*optimizer_, clip)) return true;
    sink_.on_log("fp16: gradient overflow at epoch " + std::to_string(epoch + 1) + " step " +
                 std::to_string(step + 1) + ": step skipped, loss scale " + std::to_string(before) +
                 " -> " + std::to_string(scaler_->scale()));
    RM_THROW_IF(scaler_->scale() < 1.0, "training diverged in fp16: the loss scale fell ",
                "below 1 at epoch ", epoch + 1, " step ", step + 1,
                " (lower the learning rate, or use fp32)");
    return false;
  });
}

void Trainer::report_step(const models::Batch& b, int64_t epoch, int64_t step, const EpochTally& e,
                          Clock::time_point step_start) {
  const double secs = e.seconds();
  StepProgress p;
  p.epoch = epoch + 1;
  p.epochs = spec_.train.epochs;
  p.step = step + 1;
  p.steps_per_epoch = steps_per_epoch_;
  p.loss = e.train.mean_loss();
  p.accuracy = e.train.accuracy();
  p.samples_per_second = e.global_samples / std::max(secs, 1e-9);
  p.sample_unit = result_.sample_unit;
  const double total_steps = static_cast<double>(steps_per_epoch_ * spec_.train.epochs);
  const double done_steps = static_cast<double>(result_.steps);
  p.eta_seconds = (train_seconds_ + secs) / done_steps * (total_steps - done_steps);
  p.lr = e.lr;
  p.step_seconds = seconds_since(step_start);
  p.samples = b.labels.dim(0);
  p.steps_total = result_.steps;
  p.resumed_from_step = result_.resumed_from_step;
  p.checkpoint_step = last_checkpoint_step_;
  sink_.on_step(p);
}

// This rank's share of the test set, with the running statistics made the
// same on every rank first (so the figure is the checkpoint's).
Tally Trainer::evaluate() {
  sync_->average(running_stats_);
  Tally t = task_->new_tally();
  const EvalShare share = sync_->eval_share();
  if (share.world == 0) return t;
  model_->train(false);
  ops::NoGradGuard no_grad;
  models::BatchLoaderOptions o{.batch_size = spec_.train.eval_batch_size,
                               .seed = 0,
                               .epoch = 0,
                               .shuffle = false,
                               .drop_last = false};
  o.rank = share.rank;
  o.world_size = share.world;
  models::BatchLoader loader(data_.test, o);
  while (auto b = loader.next()) {
    const int64_t n = b->labels.dim(0);
    if (n == 0) continue;  // this rank's share of a short last batch
    // The model's own output (an ensemble's averaged members, frozen ones too).
    const models::ModelInput in = input(*b);
    const ops::Tensor prediction = ops::cast(model_->forward_batch(in), ops::DType::f32);
    t.loss_sum += task_->loss(prediction, *b, device_).item() * static_cast<double>(n);
    task_->count(prediction, *b, t);
    task_->count_generated(*model_, in, *b, t);
    t.samples += static_cast<double>(n);
  }
  model_->train(true);
  return t;
}

void Trainer::end_epoch(int64_t epoch, EpochTally& e) {
  const double train_seconds = e.seconds();
  Tally test = evaluate();
  // The epoch's figures over all ranks, in one collective.
  std::vector<double> flat;
  e.train.append_to(flat);
  test.append_to(flat);
  flat = sync_->sum(flat);
  size_t at = 0;
  e.train.read_from(flat, at);
  test.read_from(flat, at);
  const Evaluation ev = task_->evaluate(test);
  EpochReport r;
  r.epoch = epoch + 1;
  r.epochs = spec_.train.epochs;
  r.train_loss = e.train.mean_loss();
  r.train_accuracy = e.train.accuracy();
  r.test_loss = ev.loss;
  r.test_accuracy = ev.accuracy;
  r.images_per_second = e.global_samples / std::max(train_seconds, 1e-9);
  r.sample_unit = result_.sample_unit;
  r.epoch_seconds = e.seconds();  // evaluation included
  r.lr = e.lr;
  r.test_mean_iou = ev.mean_iou;
  r.test_figures = ev.figures;
  r.trained = trainable_ > 0;
  sink_.on_epoch(r);
  if (const std::string line = task_->describe(epoch + 1, ev); !line.empty()) sink_.on_log(line);
  result_.epochs = epoch + 1;
  result_.train_loss = r.train_loss;
  result_.train_accuracy = r.train_accuracy;
  result_.test_loss = r.test_loss;
  result_.test_accuracy = r.test_accuracy;
  result_.test_mean_iou = r.test_mean_iou;
  result_.test_figures = r.test_figures;
}

void Trainer::finish() {
  result_.images_per_second = train_samples_ / std::max(train_seconds_, 1e-9);
  result_.samples_trained = static_cast<int64_t>(std::llround(train_samples_));
  if (scaler_) {
    result_.skipped_steps = scaler_->skipped_steps();
    result_.loss_scale = scaler_->scale();
  }
  result_.sync = sync_->stats();
  sync_->finish();
  if (!result_.cancelled && rank_ == 0) write_checkpoint();
  result_.wall_seconds = seconds_since(start_);
}

void Trainer::write_checkpoint() {
  const std::string& path = spec_.checkpoint.path;
  result_.checkpoint_path = path;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::map<std::string, std::string> meta{{"format", "ringmaster-checkpoint-v1"},
                                          {"model", spec_.model.name},
                                          {"epoch", std::to_string(result_.epochs)},
                                          {"step", std::to_string(result_.steps)},
                                          {"test_accuracy", std::to_string(result_.test_accuracy)},
                                          {"spec", spec_.source.dump()}};
  models::save_safetensors(path, model_->state_dict(), meta);
  if (sync_->holds_optimizer_state())
    models::save_safetensors(optimizer_state_path(path), optimizer_->state(), meta);
  sink_.on_log("checkpoint: " + path);
}

}  // namespace

TrainResult run_training(const JobSpec& spec, ProgressSink& sink, const RunOptions& run) {
  return Trainer(spec, sink, run).run();
}

}  // namespace ringmaster::training
