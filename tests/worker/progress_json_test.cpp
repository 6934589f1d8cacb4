// Progress between training's types and the wire's: what a sample is (img,
// or seq for text) goes out with step and epoch reports and comes back, and
// a report naming anything else reads as img (the views print it).
#include "worker/progress_json.h"

#include <gtest/gtest.h>

namespace ringmaster::worker {
namespace {

TEST(ProgressJson, TheSampleUnitTravelsAndOnlyImgOrSeqComesBack) {
  training::StepProgress step;
  step.sample_unit = "seq";
  EXPECT_EQ(from_report(comm::read_step_report(comm::to_json(to_report(step)))).sample_unit, "seq");
  training::EpochReport epoch;
  epoch.sample_unit = "seq";
  EXPECT_EQ(from_report(comm::read_epoch_report(comm::to_json(to_report(epoch)))).sample_unit,
            "seq");
  comm::StepReport odd;
  odd.sample_unit = "\x1b[2Jbytes";
  EXPECT_EQ(from_report(odd).sample_unit, "img");
  EXPECT_EQ(from_report(comm::StepReport{}).sample_unit, "img");  // older workers send none
}

}  // namespace
}  // namespace ringmaster::worker
