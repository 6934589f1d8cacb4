// Internal to ops/cuda/: cuDNN plans (descriptors, algorithm choices,
// workspace sizes) made once per shape and kept for the life of the process,
// and the key every convolution-like op builds for them. The caches are
// leaked on purpose: descriptors must outlive cuDNN's handles at exit.
// Thread-safe; get() blocks while another thread makes a plan.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops::cuda {

using PlanKey = std::vector<int64_t>;

template <class Plan>
class PlanCache {
 public:
  // The plan for key, made by make() the first time.
  template <class Make>
  std::shared_ptr<Plan> get(const PlanKey& key, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Plan>& slot = plans_[key];
    if (!slot) slot = make();
    return slot;
  }

 private:
  std::mutex mu_;
  std::map<PlanKey, std::shared_ptr<Plan>> plans_;
};

// One cache per plan type, never destroyed.
template <class Plan>
PlanCache<Plan>& plan_cache() {
  static auto* cache = new PlanCache<Plan>();
  return *cache;
}

// The device, the dtype, the input's shape and the geometry every
// convolution's parameters share (stride, padding, dilation per axis,
// groups); each op appends what is its own.
template <class Params>
PlanKey conv_plan_key(int device, DType dtype, const Shape& xs, const Params& p) {
  PlanKey k{device, static_cast<int64_t>(dtype)};
  k.insert(k.end(), xs.begin(), xs.end());
  for (size_t i = 0; i < 2; ++i)
    k.insert(k.end(), {p.stride[i], p.padding_begin[i], p.padding_end[i], p.dilation[i]});
  k.push_back(p.groups);
  return k;
}

}  // namespace ringmaster::ops::cuda
