// PsUpdateConfig, the parameter-server shard's optimizer configuration: its
// JSON form round-trips and bad fields are named; the standalone factory
// refuses a bad configuration.
#include "training/ps_update.h"

#include <gtest/gtest.h>

namespace ringmaster::training {
namespace {

TEST(PsUpdateConfig, RoundTripsThroughJsonAndNamesBadFields) {
  const JobSpec spec =
      parse_job_spec({{"optimizer", {{"name", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}}},
                      {"lr_schedule", {{"type", "step"}, {"step_size", 2}}}});
  const PsUpdateConfig c = PsUpdateConfig::from_spec(spec, 7);
  const PsUpdateConfig back = PsUpdateConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.optimizer.name, OptimizerKind::kSgd);
  EXPECT_DOUBLE_EQ(back.optimizer.momentum, 0.9);
  EXPECT_EQ(back.steps_per_epoch, 7);
  nlohmann::json bad = c.to_json();
  bad["optimizer"]["lr"] = -1;
  try {
    PsUpdateConfig::from_json(bad);
    ADD_FAILURE() << "a negative lr must be refused";
  } catch (const models::SpecError& e) {
    EXPECT_EQ(e.problems().at(0).pointer, "/optimizer/lr");
  }
  bad = c.to_json();
  bad["steps_per_epoch"] = 0;
  EXPECT_THROW(PsUpdateConfig::from_json(bad), ops::Error);
  bad = c.to_json();
  bad["momentum"] = 1;
  EXPECT_THROW(PsUpdateConfig::from_json(bad), ops::Error);

  // The standalone factory turns a bad configuration into a refused init.
  comm::PsJobInfo info;
  info.update = {{"optimizer", {{"name", "rmsprop"}}}, {"steps_per_epoch", 1}};
  comm::PsTensors weights = {{"w", ops::Tensor::zeros({3})}};
  try {
    make_ps_update_factory_from_init()(info, weights);
    ADD_FAILURE() << "an unknown optimizer must be refused";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/optimizer/name"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::training
