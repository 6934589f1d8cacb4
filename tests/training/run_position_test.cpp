// RunPosition, the state.json of a periodic checkpoint: every field survives
// the text exactly (doubles included), and a missing or mistyped field is an
// error naming it.
#include "training/run_position.h"

#include <gtest/gtest.h>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

TEST(RunPosition, RoundTripsExactlyAndNamesAMissingOrMistypedField) {
  RunPosition p;
  p.epoch = 3;
  p.step_in_epoch = 17;
  p.steps = 140;
  p.seed = 18446744073709551557ull;  // above int64
  p.batch_size = 32;
  p.steps_per_epoch = 41;
  p.dropout_calls = {{"drop1", 140}, {"features.3", 7}};
  p.scaler = ScalerState{1024.0, 12, 3};
  p.epoch_tally = {1.0 / 3.0, 2.5e-17, 1e300};
  p.epoch_seconds = 12.75;
  p.test_accuracy = 0.1 + 0.2;
  const RunPosition q = run_position_from_json(nlohmann::json::parse(to_json(p).dump()));
  EXPECT_EQ(q.epoch, 3);
  EXPECT_EQ(q.step_in_epoch, 17);
  EXPECT_EQ(q.seed, p.seed);
  EXPECT_EQ(q.dropout_calls, p.dropout_calls);
  ASSERT_TRUE(q.scaler.has_value());
  EXPECT_EQ(q.scaler->good_in_a_row, 12);
  EXPECT_EQ(q.epoch_tally, p.epoch_tally);  // exactly: doubles survive the text
  EXPECT_EQ(q.test_accuracy, p.test_accuracy);
  EXPECT_EQ(q.epoch_seconds, 12.75);
  nlohmann::json j = to_json(p);
  j.erase("epoch_seconds");  // a checkpoint from before it was kept
  EXPECT_EQ(run_position_from_json(j).epoch_seconds, 0.0);
  j = to_json(p);
  j.erase("steps_per_epoch");
  EXPECT_THROW(
      {
        try {
          run_position_from_json(j);
        } catch (const ops::Error& e) {
          EXPECT_NE(std::string(e.what()).find("steps_per_epoch is missing"), std::string::npos);
          throw;
        }
      },
      ops::Error);
  j = to_json(p);
  j["epoch"] = "three";
  EXPECT_THROW(run_position_from_json(j), ops::Error);
}

}  // namespace
}  // namespace ringmaster::training
