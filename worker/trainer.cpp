// run_training (see trainer.h): the single-process training loop.
#include "worker/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include "models/composites.h"
#include "models/dataset.h"
#include "models/ensemble.h"
#include "models/grad_scaler.h"
#include "models/lfw_subset.h"
#include "models/lr_schedule.h"
#include "models/model_builder.h"
#include "models/optimizer.h"
#include "models/safetensors.h"
#include "models/spec_optimizer.h"
#include "ops/add.h"
#include "ops/autograd.h"
#include "ops/cast.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"
#include "ops/spatial_cross_entropy.h"
#include "worker/gradient_reducer.h"
#include "worker/ps_sync.h"

namespace ringmaster::worker {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The device train.device names ("auto" | "cpu" | "cuda"), said once in the log.
ops::Device choose_device(const std::string& want, int threads, ProgressSink& sink) {
  const int gpus = ops::cuda_device_count();
  const std::string cpu_line = "device: cpu, " + std::to_string(threads) + " threads";
  if (want == "cuda") {
    RM_THROW_IF(gpus == 0, "train.device is \"cuda\" but no CUDA device is usable: ",
                ops::cuda_unavailable_reason());
    sink.on_log("device: cuda:0 (train.device \"cuda\", " + std::to_string(gpus) +
                " CUDA device(s))");
    return ops::Device::cuda(0);
  }
  if (want == "cpu") {
    sink.on_log(cpu_line + " (train.device \"cpu\")");
    return ops::Device::cpu();
  }
  if (gpus > 0) {
    sink.on_log("device: cuda:0 (train.device \"auto\": " + std::to_string(gpus) +
                " CUDA device(s) found)");
    return ops::Device::cuda(0);
  }
  sink.on_log(cpu_line + " (no GPU: " + ops::cuda_unavailable_reason() + ")");
  return ops::Device::cpu();
}

// What a batch is scored against: labels (N), or masks (N, H, W) for
// segmentation data (logits (N, C, H, W)).
const ops::Tensor& targets_of(const models::Batch& b) {
  return b.masks.defined() ? b.masks : b.labels;
}

ops::Tensor loss_of(const ops::Tensor& logits, const ops::Tensor& targets) {
  return targets.ndim() == 1 ? ops::softmax_cross_entropy(logits, targets)
                             : ops::spatial_cross_entropy(logits, targets);
}

// Argmax over C of logits viewed as (N, C, S) against targets (N*S); adds
// per-class intersections and unions when `iou` is given (segmentation).
// Returns the number of correct predictions (images, or pixels).
struct IouCounts {
  std::vector<int64_t> intersection, union_;
};
int64_t count_correct(const ops::Tensor& logits, const ops::Tensor& targets,
                      IouCounts* iou = nullptr) {
  ops::Tensor l = logits.to(ops::Device::cpu()).to_plain();
  const float* p = l.data<float>();
  const int64_t* y = targets.data<int64_t>();
  const int64_t n = l.dim(0), c = l.dim(1), s = l.numel() / (n * c);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < s; ++j) {
      int64_t best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (p[(i * c + k) * s + j] > p[(i * c + best) * s + j]) best = k;
      const int64_t want = y[i * s + j];
      correct += best == want;
      if (iou != nullptr) {
        ++iou->union_[static_cast<size_t>(best)];
        if (best != want) ++iou->union_[static_cast<size_t>(want)];
        if (best == want) ++iou->intersection[static_cast<size_t>(best)];
      }
    }
  }
  return correct;
}

struct Evaluation {
  double loss = 0.0, accuracy = 0.0;
  double mean_iou = -1.0;         // segmentation only: over classes present in truth or prediction
  std::vector<double> class_iou;  // segmentation only: per class, -1 where absent from both
};

// The model's input on the device, in the dtype it computes in.
ops::Tensor input(const ops::Tensor& images, ops::Device device, bool half) {
  ops::Tensor x = images.to(device);
  return half ? ops::cast(x, ops::DType::f16) : x;
}

// Logits (N, C) in f32 whatever the compute dtype (the loss is always f32).
ops::Tensor logits_f32(models::Module& model, const ops::Tensor& x) {
  return ops::cast(model.forward(x), ops::DType::f32);
}

// What evaluation adds up over the test set (or over this rank's share of it).
struct EvalSums {
  double loss_sum = 0.0;
  int64_t correct = 0, seen = 0, units = 0;
  IouCounts iou;
  bool segmentation = false;

  std::vector<double> flat() const {
    std::vector<double> v{loss_sum, static_cast<double>(correct), static_cast<double>(seen),
                          static_cast<double>(units)};
    for (int64_t x : iou.intersection) v.push_back(static_cast<double>(x));
    for (int64_t x : iou.union_) v.push_back(static_cast<double>(x));
    return v;
  }
  void unflat(const std::vector<double>& v) {
    loss_sum = v[0];
    correct = std::llround(v[1]);
    seen = std::llround(v[2]);
    units = std::llround(v[3]);
    const size_t k = iou.intersection.size();
    for (size_t i = 0; i < k; ++i) {
      iou.intersection[i] = std::llround(v[4 + i]);
      iou.union_[i] = std::llround(v[4 + k + i]);
    }
  }
  Evaluation result() const {
    if (seen == 0) return {};
    Evaluation ev{loss_sum / static_cast<double>(seen),
                  static_cast<double>(correct) / static_cast<double>(units)};
    if (segmentation) {
      double sum = 0.0;
      int present = 0;
      for (size_t k = 0; k < iou.union_.size(); ++k) {
        ev.class_iou.push_back(-1.0);
        if (iou.union_[k] == 0) continue;
        ev.class_iou.back() =
            static_cast<double>(iou.intersection[k]) / static_cast<double>(iou.union_[k]);
        sum += ev.class_iou.back();
        ++present;
      }
      ev.mean_iou = present > 0 ? sum / present : 0.0;
    }
    return ev;
  }
};

// This rank's share of every test batch (all of it with one rank).
EvalSums evaluate(models::Module& model, const models::Dataset& test, int64_t batch_size,
                  ops::Device device, bool half, int rank, int world_size) {
  model.train(false);
  ops::NoGradGuard no_grad;
  models::BatchLoaderOptions o{
      .batch_size = batch_size, .seed = 0, .epoch = 0, .shuffle = false, .drop_last = false};
  o.rank = rank;
  o.world_size = world_size;
  models::BatchLoader loader(test, o);
  EvalSums sums;
  sums.segmentation = test.masks.defined();
  sums.iou = {std::vector<int64_t>(static_cast<size_t>(test.num_classes)),
              std::vector<int64_t>(static_cast<size_t>(test.num_classes))};
  while (auto batch = loader.next()) {
    const int64_t n = batch->labels.dim(0);
    if (n == 0) continue;  // this rank's share of a short last batch
    ops::Tensor logits = logits_f32(model, input(batch->images, device, half));
    const ops::Tensor& t = targets_of(*batch);
    sums.loss_sum += loss_of(logits, t.to(device)).item() * static_cast<double>(n);
    sums.correct += count_correct(logits, t, sums.segmentation ? &sums.iou : nullptr);
    sums.seen += n;
    sums.units += t.numel();
  }
  model.train(true);
  return sums;
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

void write_checkpoint(const std::string& path, const models::Module& model,
                      const models::Optimizer* optimizer, const models::JobSpec& spec,
                      const TrainResult& r) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::map<std::string, std::string> meta{{"format", "ringmaster-checkpoint-v1"},
                                          {"model", spec.model.name},
                                          {"epoch", std::to_string(r.epochs)},
                                          {"step", std::to_string(r.steps)},
                                          {"test_accuracy", std::to_string(r.test_accuracy)},
                                          {"spec", spec.source.dump()}};
  models::save_safetensors(path, model.state_dict(), meta);
  // Optimizer state beside the model, so a run can resume exactly.
  std::string opt_path = path;
  const std::string ext = ".safetensors";
  if (opt_path.size() > ext.size() && opt_path.ends_with(ext))
    opt_path.resize(opt_path.size() - ext.size());
  opt_path += ".optimizer.safetensors";
  if (optimizer != nullptr) models::save_safetensors(opt_path, optimizer->state(), meta);
}

}  // namespace

TrainTestData load_data(const models::DataSpec& d, uint64_t seed) {
  TrainTestData out;
  if (d.dataset == "fashion-mnist") {
    const std::string dir = d.path.empty() ? "/usr/share/datasets/fashion-mnist" : d.path;
    out.train =
        models::load_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    out.test =
        models::load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  } else if (d.dataset == "fashion-composites") {
    // Segmentation: training composites from the training items, test
    // composites from the held-out test items.
    const std::string dir = d.path.empty() ? "/usr/share/datasets/fashion-mnist" : d.path;
    models::CompositeOptions o{.count = d.composite_train,
                               .size = d.composite_size,
                               .max_items = d.composite_max_items,
                               .seed = d.composite_seed};
    out.train = models::make_composites(
        models::load_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"),
        o);
    o.count = d.composite_test;
    o.seed = d.composite_seed + 1;
    out.test = models::make_composites(
        models::load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz"),
        o);
  } else {  // digits, lfw-subset: one file, split by the seed
    models::Dataset all =
        d.dataset == "lfw-subset"
            ? models::load_lfw_subset(d.path.empty() ? "data/lfw_subset.npy" : d.path, d.image_size)
            : models::load_digits_csv(d.path.empty() ? "data/digits.csv.gz" : d.path);
    const int64_t test_count = all.size() * d.test_fraction_permille / 1000;
    const uint64_t split_seed = d.split_seed >= 0 ? static_cast<uint64_t>(d.split_seed) : seed;
    auto [train, test] = models::split(all, all.size() - test_count, split_seed);
    out.train = std::move(train);
    out.test = std::move(test);
  }
  if (d.train_limit > 0)
    out.train = models::subset(out.train, std::min(d.train_limit, out.train.size()));
  if (d.test_limit > 0)
    out.test = models::subset(out.test, std::min(d.test_limit, out.test.size()));
  if (d.train_per_class > 0) {  // few-shot: the first N of each class, in data set order
    std::vector<int64_t> taken(static_cast<size_t>(out.train.num_classes)), keep;
    for (int64_t i = 0; i < out.train.size(); ++i) {
      const auto c = static_cast<size_t>(out.train.labels[static_cast<size_t>(i)]);
      if (taken[c] < d.train_per_class) {
        ++taken[c];
        keep.push_back(i);
      }
    }
    out.train = models::subset(out.train, keep);
  }
  return out;
}

TrainResult run_training(const models::JobSpec& spec, ProgressSink& outer_sink,
                         const std::atomic<bool>* cancel, const DataParallel* dp) {
  const auto start = Clock::now();
  TrainResult result;
  const int rank = dp != nullptr ? dp->rank : 0;
  const int world = dp != nullptr ? dp->world_size : 1;
  RM_THROW_IF(world < 1 || rank < 0 || rank >= world, "rank ", rank, " outside world size ", world);
  result.rank = rank;
  result.world_size = world;
  RankSink sink(outer_sink, rank);
  if (spec.train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec.train.threads));
  result.threads = ops::cpu_threads();
  const ops::Device device = choose_device(spec.train.device, result.threads, sink);
  const bool half = spec.train.precision == "fp16";
  RM_THROW_IF(half && !device.is_cuda(), "train.precision is \"fp16\" but training runs on the ",
              "cpu (no GPU: ", ops::cuda_unavailable_reason(), ")");
  result.device = device.str();
  result.precision = spec.train.precision;
  std::optional<models::GradScaler> scaler;
  if (half) {
    scaler.emplace();
    sink.on_log("precision: fp16 compute, fp32 master weights, loss scale " +
                std::to_string(static_cast<int64_t>(scaler->scale())) + " (dynamic)");
  }

  TrainTestData data = load_data(spec.data, spec.train.seed);
  result.train_samples = data.train.images.dim(0);
  result.test_samples = data.test.images.dim(0);
  RM_THROW_IF(result.train_samples == 0, "the training set is empty");
  sink.on_log("data: " + spec.data.dataset + ", " + std::to_string(result.train_samples) +
              " train / " + std::to_string(result.test_samples) + " test images of " +
              ops::shape_str(
                  {data.train.images.dim(1), data.train.images.dim(2), data.train.images.dim(3)}));

  std::mt19937_64 rng(spec.train.seed);
  models::ModelConfig cfg;
  cfg.in_channels = static_cast<int>(data.train.images.dim(1));
  cfg.num_classes = data.train.num_classes;
  cfg.image_size = static_cast<int>(data.train.images.dim(2));
  std::vector<std::string> build_log;
  std::shared_ptr<models::Module> model =
      models::build_model_from_spec(spec.model, cfg, rng, &build_log);
  for (const std::string& line : build_log) sink.on_log(line);
  result.parameters = model->num_parameters();
  const int64_t trainable = model->num_parameters(/*trainable_only=*/true);
  sink.on_log("model: " + spec.model.name + ", " + std::to_string(result.parameters) +
              " parameters (" + std::to_string(trainable) + " trainable)");
  model->train(true);
  // An ensemble trains each member that has trainable parameters on its own
  // loss (the sum of the members' losses); frozen members only vote at eval.
  auto* ensemble = dynamic_cast<models::Ensemble*>(model.get());
  RM_THROW_IF(ensemble != nullptr && data.train.masks.defined(),
              "ensembles average class probabilities per image; this data set is segmentation");
  std::vector<std::shared_ptr<models::Module>> trained_members;
  if (ensemble != nullptr) {
    for (size_t i = 0; i < ensemble->size(); ++i)
      if (ensemble->member(i)->num_parameters(true) > 0)
        trained_members.push_back(ensemble->member(i));
  }
  model->to(device);  // before the optimizer, whose state follows the parameters

  std::unique_ptr<models::Optimizer> optimizer =
      models::make_optimizer(spec.optimizer, model->named_parameters());
  const models::LrSchedule schedule = models::LrSchedule::from_json(
      spec.lr_schedule.empty() ? nlohmann::json{{"type", "constant"}} : spec.lr_schedule,
      spec.optimizer.lr);

  const int64_t batch = spec.train.batch_size;
  const int64_t steps_per_epoch = (result.train_samples + batch - 1) / batch;

  // Data-parallel through the parameter server: the shards hold the weights
  // (rank 0's seed them) and step the optimizer.
  std::unique_ptr<PsSync> ps;
  if (world > 1 && spec.sync.mode == "ps") {
    RM_THROW_IF(scaler.has_value(), "train.precision \"fp16\" with sync.mode \"ps\" is not ",
                "supported (use sync.mode \"allreduce\")");
    std::vector<std::pair<std::string, ops::Tensor>> trainable_params;
    for (const auto& [name, p] : model->named_parameters())
      if (p.requires_grad()) trainable_params.emplace_back(name, p);
    ps = std::make_unique<PsSync>(trainable_params, *dp, spec, steps_per_epoch);
    result.sync_mode = spec.sync.mode;
    result.sync_compression = spec.sync.compression;
    sink.on_log("data-parallel: rank " + std::to_string(rank) + " of " + std::to_string(world) +
                ", parameter server (" + std::to_string(ps->shard_count()) + " shard(s), " +
                (spec.sync.staleness > 0 ? "SSP staleness " + std::to_string(spec.sync.staleness)
                                         : std::string("BSP")) +
                "), compression " + spec.sync.compression + ", global batch " +
                std::to_string(batch) + "; train loss and accuracy are this rank's share");
  }
  // Data-parallel by all-reduce: form the ring, then start every rank from
  // rank 0's weights.
  std::unique_ptr<GradientReducer> reducer;
  if (world > 1 && !ps) {
    std::vector<ops::Tensor> trainable_params, state;
    for (const auto& [name, p] : model->named_parameters())
      if (p.requires_grad()) trainable_params.push_back(p);
    for (const auto& [name, t] : model->state_dict())
      if (t.dtype() == ops::DType::f32) state.push_back(t);
    reducer = std::make_unique<GradientReducer>(trainable_params, *dp, spec.sync);
    reducer->broadcast_from_rank0(state);
    result.sync_mode = spec.sync.mode;
    result.sync_compression = spec.sync.compression;
    char line[400];
    std::snprintf(line, sizeof line,
                  "data-parallel: rank %d of %d, %s, compression %s, %zu bucket(s) "
                  "of <= %g MiB, global batch %lld",
                  rank, world, reducer->describe().c_str(), spec.sync.compression.c_str(),
                  reducer->bucket_count(), spec.sync.bucket_mb,
                  static_cast<long long>(spec.train.batch_size));
    sink.on_log(line);
  }

  double train_seconds = 0.0;
  int64_t train_images = 0;
  if (trainable == 0) sink.on_log("nothing to train: evaluating only");
  std::shared_ptr<const models::Augmenter> augment;
  if (!spec.data.augment.empty()) {
    augment = std::make_shared<models::Augmenter>(spec.data.augment);
    std::string steps;
    for (const auto& st : spec.data.augment)
      steps += std::string(steps.empty() ? "" : ", ") + models::augment_kind_name(st.kind);
    sink.on_log("augment: " + steps);
  }
  // A peer's failure (dead, stalled, misbehaving), named from this rank.
  auto peer_error = [rank](const comm::CommError& e) {
    return ops::Error("data-parallel rank " + std::to_string(rank) + ": " + e.what());
  };
  for (int64_t epoch = 0; epoch < spec.train.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    models::BatchLoaderOptions lo{.batch_size = batch,
                                  .seed = spec.train.seed,
                                  .epoch = epoch,
                                  .shuffle = true,
                                  .drop_last = false,
                                  .augment = augment};
    lo.rank = rank;
    lo.world_size = world;
    models::BatchLoader loader(data.train, lo);
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0, units = 0, step = 0, loss_seen = 0;  // units: images, or pixels
    int64_t global_seen = 0;  // all ranks' samples (this rank's when alone)
    double lr = 0.0;
    while (auto b = trainable > 0 ? loader.next() : std::nullopt) {
      if (cancel != nullptr && cancel->load()) {
        result.cancelled = true;
        break;
      }
      const auto step_start = Clock::now();
      lr = schedule.lr_at(epoch, step, steps_per_epoch);
      optimizer->set_lr(lr);
      optimizer->zero_grad();
      const int64_t n = b->labels.dim(0);
      const double share = static_cast<double>(n) / static_cast<double>(b->global_size);
      if (reducer) reducer->begin_step(share);
      // What backward is seeded with: 1, or what the rank's sync asks for.
      const double seed = reducer ? reducer->backward_seed() : ps ? ps->backward_seed(share) : 1.0;
      std::optional<ops::LeafGradHookGuard> hook;
      if (reducer) hook.emplace(reducer->hook());
      ops::Tensor logits, loss;
      const ops::Tensor& targets = targets_of(*b);
      const ops::Tensor targets_on_device = targets.to(device);
      // Gradients averaged over the ranks (a no-op alone), after backward.
      // False when a peer went away because the job is being cancelled.
      auto sync_gradients = [&] {
        if (!reducer && !ps) return true;
        hook.reset();
        try {
          if (reducer) reducer->finish_step();
          if (ps) ps->step(result.steps);  // the new weights are in the parameters
          return true;
        } catch (const comm::CommError& e) {
          if (cancel != nullptr && cancel->load()) return false;
          throw peer_error(e);
        }
      };
      // A rank whose share of a short last batch is empty skips forward and
      // backward but still takes part in the all-reduce (with zeros) and the step.
      if (n > 0) {
        if (ensemble != nullptr) {
          std::vector<ops::Tensor> outs;
          for (const auto& m : trained_members) {
            outs.push_back(logits_f32(*m, input(b->images, device, half)));
            ops::Tensor l = ops::softmax_cross_entropy(outs.back(), targets_on_device);
            loss = loss.defined() ? ops::add(loss, l) : l;
          }
          logits = models::Ensemble::average_log_probs(outs);
        } else {
          logits = logits_f32(*model, input(b->images, device, half));
          loss = loss_of(logits, targets_on_device);
        }
        if (scaler)
          scaler->backward(loss, seed);
        else if (seed != 1.0)
          loss.backward(ops::Tensor::full(loss.shape(), static_cast<float>(seed)));
        else
          loss.backward();
      }
      if (!sync_gradients()) {
        result.cancelled = true;
        break;
      }
      if (ps) {
        // The shards took the optimizer step.
      } else if (scaler) {
        // Overflow (inf or NaN gradients, or loss) skips the step and lowers the scale.
        const double before = scaler->scale();
        if (!scaler->step(*optimizer)) {
          sink.on_log("fp16: gradient overflow at epoch " + std::to_string(epoch + 1) + " step " +
                      std::to_string(step + 1) + ": step skipped, loss scale " +
                      std::to_string(before) + " -> " + std::to_string(scaler->scale()));
          RM_THROW_IF(scaler->scale() < 1.0, "training diverged in fp16: the loss scale fell ",
                      "below 1 at epoch ", epoch + 1, " step ", step + 1,
                      " (lower the learning rate, or use fp32)");
        }
      } else {
        optimizer->step();
      }
      ++step;
      ++result.steps;
      global_seen += b->global_size;
      if (n == 0) continue;
      const double l = loss.item();
      RM_THROW_IF(!std::isfinite(l) && !scaler, "training diverged: loss is ", l, " at epoch ",
                  epoch + 1, " step ", step + 1, " (lower the learning rate)");
      if (std::isfinite(l)) {
        loss_sum += l * static_cast<double>(n);
        loss_seen += n;
      }
      correct += count_correct(logits, targets);
      seen += n;
      units += targets.numel();
      const double secs = seconds_since(epoch_start);
      StepProgress p;
      p.epoch = epoch + 1;
      p.epochs = spec.train.epochs;
      p.step = step;
      p.steps_per_epoch = steps_per_epoch;
      p.loss = loss_sum / static_cast<double>(std::max<int64_t>(loss_seen, 1));
      p.accuracy = static_cast<double>(correct) / static_cast<double>(units);
      p.samples_per_second = static_cast<double>(global_seen) / std::max(secs, 1e-9);
      const double total_steps = static_cast<double>(steps_per_epoch * spec.train.epochs);
      const double done_steps = static_cast<double>(result.steps);
      const double per_step = (train_seconds + secs) / done_steps;
      p.eta_seconds = per_step * (total_steps - done_steps);
      p.lr = lr;
      p.step_seconds = seconds_since(step_start);
      p.samples = n;
      sink.on_step(p);
    }
    const double epoch_train_seconds = seconds_since(epoch_start);
    train_seconds += epoch_train_seconds;
    train_images += global_seen;
    if (result.cancelled) break;

    // All-reduce: each rank evaluates its share and the sums are reduced.
    // Parameter server: rank 0 evaluates everything (it reports), others nothing.
    EvalSums eval_sums;
    if (!ps)
      eval_sums =
          evaluate(*model, data.test, spec.train.eval_batch_size, device, half, rank, world);
    else if (rank == 0)
      eval_sums = evaluate(*model, data.test, spec.train.eval_batch_size, device, half, 0, 1);
    if (reducer) {
      // The epoch's figures over all ranks (exact sums of counts).
      std::vector<double> v = eval_sums.flat();
      const std::vector<double> mine{loss_sum, static_cast<double>(loss_seen),
                                     static_cast<double>(correct), static_cast<double>(seen),
                                     static_cast<double>(units)};
      v.insert(v.end(), mine.begin(), mine.end());
      try {
        v = reducer->sum(v);
      } catch (const comm::CommError& e) {
        if (cancel != nullptr && cancel->load()) {
          result.cancelled = true;
          break;
        }
        throw peer_error(e);
      }
      const size_t k = v.size() - mine.size();
      loss_sum = v[k];
      loss_seen = std::llround(v[k + 1]);
      correct = std::llround(v[k + 2]);
      seen = std::llround(v[k + 3]);
      units = std::llround(v[k + 4]);
      v.resize(k);
      eval_sums.unflat(v);
    }
    const Evaluation ev = eval_sums.result();
    EpochReport r;
    r.epoch = epoch + 1;
    r.epochs = spec.train.epochs;
    r.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(loss_seen, 1));
    r.train_accuracy =
        static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(units, 1));
    r.test_loss = ev.loss;
    r.test_accuracy = ev.accuracy;
    r.images_per_second = static_cast<double>(global_seen) / std::max(epoch_train_seconds, 1e-9);
    r.epoch_seconds = seconds_since(epoch_start);
    r.lr = lr;
    r.test_mean_iou = ev.mean_iou;
    r.trained = trainable > 0;
    sink.on_epoch(r);
    if (ev.mean_iou >= 0.0) {
      char line[96];
      std::snprintf(line, sizeof line, "epoch %lld: test pixel accuracy %.2f%%, mean IoU %.4f",
                    static_cast<long long>(epoch + 1), 100.0 * ev.accuracy, ev.mean_iou);
      std::string per_class = std::string(line) + "; per class (0 = background):";
      for (size_t k = 0; k < ev.class_iou.size(); ++k) {
        if (ev.class_iou[k] < 0.0) {
          std::snprintf(line, sizeof line, " %zu -", k);
        } else {
          std::snprintf(line, sizeof line, " %zu %.3f", k, ev.class_iou[k]);
        }
        per_class.append(line);
      }
      sink.on_log(per_class);
    }
    result.epochs = epoch + 1;
    result.train_loss = r.train_loss;
    result.train_accuracy = r.train_accuracy;
    result.test_loss = r.test_loss;
    result.test_accuracy = r.test_accuracy;
    result.test_mean_iou = r.test_mean_iou;
    if (trainable == 0) break;  // one evaluation is all there is
  }
  result.images_per_second = static_cast<double>(train_images) / std::max(train_seconds, 1e-9);
  if (scaler) {
    result.skipped_steps = scaler->skipped_steps();
    result.loss_scale = scaler->scale();
  }
  if (reducer) result.sync = reducer->stats();
  if (ps) {
    result.sync = ps->stats();
    ps->finish();
  }
  if (!result.cancelled && rank == 0) {
    result.checkpoint_path = spec.checkpoint.path;
    // With a parameter server the optimizer's state lives on the shards.
    write_checkpoint(spec.checkpoint.path, *model, ps ? nullptr : optimizer.get(), spec, result);
    sink.on_log("checkpoint: " + spec.checkpoint.path);
  }
  result.wall_seconds = seconds_since(start);
  return result;
}

}  // namespace ringmaster::worker
