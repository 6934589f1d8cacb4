// PsUpdateConfig and the shard's optimizer step (see ps_update.h).
#include "training/ps_update.h"

#include "training/lr_schedule.h"
#include "training/optimizer.h"
#include "training/spec_optimizer.h"

namespace ringmaster::training {

comm::PsUpdate make_ps_update(const PsUpdateConfig& config, comm::PsTensors& weights) {
  RM_THROW_IF(config.steps_per_epoch < 1, "steps_per_epoch must be >= 1");
  NamedTensors params;
  for (auto& [key, w] : weights) {
    w.set_requires_grad(true);  // the optimizer skips parameters that do not
    params.emplace_back(key, w);
  }
  struct State {
    std::unique_ptr<Optimizer> optimizer;
    LrSchedule schedule;
    int64_t steps_per_epoch;
  };
  auto state = std::make_shared<State>(
      State{make_optimizer(config.optimizer, std::move(params)),
            LrSchedule::from_json(config.lr_schedule.empty() ? nlohmann::json{{"type", "constant"}}
                                                             : config.lr_schedule,
                                  config.optimizer.lr),
            config.steps_per_epoch});
  return [state](int64_t step, comm::PsTensors& w, const comm::PsTensors& grads) {
    for (auto& [key, t] : w) t.set_grad(grads.at(key));
    const int64_t spe = state->steps_per_epoch;
    state->optimizer->set_lr(state->schedule.lr_at(step / spe, step % spe, spe));
    state->optimizer->step();
  };
}

comm::PsUpdate make_ps_update_from_json(const nlohmann::json& config, comm::PsTensors& weights) {
  PsUpdateConfig c;
  try {
    c = PsUpdateConfig::from_json(config);
  } catch (const models::SpecError& e) {
    throw ops::Error("bad optimizer configuration: " + models::format_problems(e.problems()));
  }
  return make_ps_update(c, weights);
}

PsUpdateConfig PsUpdateConfig::from_spec(const JobSpec& spec, int64_t steps_per_epoch) {
  PsUpdateConfig c;
  c.optimizer = spec.optimizer;
  c.lr_schedule = spec.lr_schedule;
  c.steps_per_epoch = steps_per_epoch;
  return c;
}

nlohmann::json PsUpdateConfig::to_json() const {
  const OptimizerSpec& o = optimizer;
  nlohmann::json opt = {
      {"name", to_string(o.name)}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
  if (o.name == OptimizerKind::kSgd) {
    opt["momentum"] = o.momentum;
    opt["nesterov"] = o.nesterov;
  } else {
    opt["beta1"] = o.beta1;
    opt["beta2"] = o.beta2;
    opt["eps"] = o.eps;
  }
  nlohmann::json j = {{"optimizer", opt}, {"steps_per_epoch", steps_per_epoch}};
  if (!lr_schedule.empty()) j["lr_schedule"] = lr_schedule;
  return j;
}

PsUpdateConfig PsUpdateConfig::from_json(const nlohmann::json& j) {
  RM_THROW_IF(!j.is_object(), "update: must be an object");
  nlohmann::json spec = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k == "optimizer" || k == "lr_schedule") {
      spec[k] = v;
    } else {
      RM_THROW_IF(k != "steps_per_epoch", "update: unknown field '", k, "'");
    }
  }
  RM_THROW_IF(!spec.contains("optimizer"), "update: 'optimizer' is missing");
  const auto spe = j.find("steps_per_epoch");
  RM_THROW_IF(spe == j.end() || !spe->is_number_integer() || spe->get<int64_t>() < 1,
              "update: 'steps_per_epoch' must be an integer >= 1");
  const JobSpec parsed = parse_job_spec(spec);  // throws SpecError
  return from_spec(parsed, spe->get<int64_t>());
}

comm::PsUpdateFactory make_ps_update_factory_from_init() {
  return [](const comm::PsJobInfo& job, comm::PsTensors& weights) {
    return make_ps_update_from_json(job.update, weights);
  };
}

}  // namespace ringmaster::training
