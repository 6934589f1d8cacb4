// All-reduce as a GradientSync: the GradientReducer's buckets over the ring
// (or NCCL), and its exact ring sums for metrics and running statistics.
#include <cstdio>

#include "training/gradient_reducer.h"
#include "training/gradient_sync.h"

namespace ringmaster::training {
namespace {

class AllreduceSync : public GradientSync {
 public:
  AllreduceSync(const JobSpec& spec, const DataParallel& dp, models::Module& model)
      : rank_(dp.rank) {
    std::vector<ops::Tensor> trainable, state;
    for (const auto& [name, p] : model.named_parameters())
      if (p.requires_grad()) trainable.push_back(p);
    for (const auto& [name, t] : model.state_dict())
      if (t.dtype() == ops::DType::f32) state.push_back(t);
    reducer_ = std::make_unique<GradientReducer>(trainable, dp, spec.sync);
    reducer_->broadcast_from_rank0(state);
    char line[400];
    std::snprintf(line, sizeof line,
                  "data-parallel: rank %d of %d, %s, compression %s, %zu bucket(s) "
                  "of <= %g MiB, global batch %lld",
                  rank_, reducer_->world_size(), reducer_->describe().c_str(),
                  to_string(spec.sync.compression), reducer_->bucket_count(), spec.sync.bucket_mb,
                  static_cast<long long>(spec.train.batch_size));
    describe_ = line;
  }

  std::string describe() const override { return describe_; }
  void begin_step(double share) override { reducer_->begin_step(share); }
  double backward_seed() const override { return reducer_->backward_seed(); }
  ops::LeafGradHook backward_hook() override { return reducer_->hook(); }
  bool finish_step(int64_t, const std::function<bool()>& local_update) override {
    reducer_->finish_step();
    return local_update();
  }
  EvalShare eval_share() const override { return {rank_, reducer_->world_size()}; }
  std::vector<double> sum(const std::vector<double>& values) override {
    return reducer_->sum(values);
  }
  void average(std::vector<ops::Tensor>& tensors) override { reducer_->average(tensors); }
  bool holds_optimizer_state() const override { return true; }
  SyncStats stats() const override { return reducer_->stats(); }
  void finish() override {}

 private:
  int rank_;
  std::string describe_;
  std::unique_ptr<GradientReducer> reducer_;
};

}  // namespace

std::unique_ptr<GradientSync> make_allreduce_sync(const JobSpec& spec, const DataParallel& dp,
                                                  models::Module& model) {
  return std::make_unique<AllreduceSync>(spec, dp, model);
}

}  // namespace ringmaster::training
