// make_gradient_sync (see gradient_sync.h) and the one-process sync.
#include "training/gradient_sync.h"

namespace ringmaster::training {

// allreduce_sync.cpp, ps_sync.cpp
std::unique_ptr<GradientSync> make_allreduce_sync(const JobSpec& spec, const DataParallel& dp,
                                                  models::Module& model);
std::unique_ptr<GradientSync> make_ps_sync(const JobSpec& spec, const DataParallel& dp,
                                           models::Module& model, int64_t steps_per_epoch);

namespace {

// Alone: the gradients are the batch's already; the optimizer steps here.
class LocalSync : public GradientSync {
 public:
  std::string describe() const override { return {}; }
  void begin_step(double) override {}
  double backward_seed() const override { return 1.0; }
  ops::LeafGradHook backward_hook() override { return {}; }
  bool finish_step(int64_t, const std::function<bool()>& local_update) override {
    return local_update();
  }
  EvalShare eval_share() const override { return {0, 1}; }
  std::vector<double> sum(const std::vector<double>& values) override { return values; }
  void average(std::vector<ops::Tensor>&) override {}
  bool holds_optimizer_state() const override { return true; }
  SyncStats stats() const override { return {}; }
  void finish() override {}
};

}  // namespace

std::unique_ptr<GradientSync> make_gradient_sync(const JobSpec& spec, const DataParallel* dp,
                                                 models::Module& model, int64_t steps_per_epoch) {
  if (dp == nullptr || dp->world_size == 1) return std::make_unique<LocalSync>();
  switch (spec.sync.mode) {
    case SyncMode::kParameterServer:
      return make_ps_sync(spec, *dp, model, steps_per_epoch);
    case SyncMode::kAllreduce:
      break;
  }
  return make_allreduce_sync(spec, *dp, model);
}

}  // namespace ringmaster::training
