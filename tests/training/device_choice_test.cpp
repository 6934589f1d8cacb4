// pick_device: train.device against the GPUs a task was given, for any
// device count (the CUDA runtime is not asked, so every case runs here).
#include "training/device_choice.h"

#include <gtest/gtest.h>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

constexpr int kThreads = 2;
const std::string kReason = "no driver";

DevicePick pick(DeviceChoice want, const GivenGpus& given, int count) {
  return pick_device(want, given, count, kThreads, kReason);
}

std::string error_of(DeviceChoice want, const GivenGpus& given, int count) {
  try {
    pick(want, given, count);
  } catch (const ops::Error& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceChoice, AClusterTaskTrainsOnTheFirstGpuItWasGiven) {
  const struct {
    DeviceChoice want;
    std::vector<int> given;
    int count, ordinal;
  } cases[] = {
      {DeviceChoice::kAuto, {2}, 4, 2},    {DeviceChoice::kAuto, {3, 1}, 4, 3},
      {DeviceChoice::kCuda, {1}, 2, 1},    {DeviceChoice::kAuto, {}, 4, -1},
      {DeviceChoice::kCpu, {0, 1}, 2, -1}, {DeviceChoice::kAuto, {0}, 1, 0},
  };
  for (const auto& c : cases) {
    const DevicePick p = pick(c.want, c.given, c.count);
    EXPECT_EQ(p.cuda_ordinal, c.ordinal) << p.log_line;
    if (c.ordinal >= 0)
      EXPECT_EQ(p.log_line.rfind("device: cuda:" + std::to_string(c.ordinal) + " (", 0), 0u)
          << p.log_line;
    else
      EXPECT_EQ(p.log_line.rfind("device: cpu, 2 threads (", 0), 0u) << p.log_line;
  }
  EXPECT_NE(pick(DeviceChoice::kAuto, std::vector<int>{}, 4).log_line.find("resources.gpus is 0"),
            std::string::npos);
}

TEST(DeviceChoice, AStandaloneRunTakesGpuZeroWhenAnyIsFound) {
  EXPECT_EQ(pick(DeviceChoice::kAuto, std::nullopt, 3).cuda_ordinal, 0);
  EXPECT_EQ(pick(DeviceChoice::kCuda, std::nullopt, 1).cuda_ordinal, 0);
  const DevicePick cpu = pick(DeviceChoice::kAuto, std::nullopt, 0);
  EXPECT_EQ(cpu.cuda_ordinal, -1);
  EXPECT_NE(cpu.log_line.find("no GPU: no driver"), std::string::npos) << cpu.log_line;
}

TEST(DeviceChoice, CudaWithoutAGpuOrAMissingOrdinalIsAnErrorNamingWhy) {
  EXPECT_NE(
      error_of(DeviceChoice::kCuda, std::nullopt, 0).find("no CUDA device is usable: no driver"),
      std::string::npos);
  EXPECT_NE(error_of(DeviceChoice::kCuda, std::vector<int>{}, 2).find("resources.gpus is 0"),
            std::string::npos);
  // A given ordinal the runtime does not have fails whatever train.device says.
  for (DeviceChoice want : {DeviceChoice::kAuto, DeviceChoice::kCpu, DeviceChoice::kCuda}) {
    EXPECT_NE(error_of(want, std::vector<int>{0, 2}, 2)
                  .find("given GPU 2 but the CUDA runtime "
                        "finds 2 device(s)"),
              std::string::npos);
    EXPECT_NE(error_of(want, std::vector<int>{0}, 0).find("(no driver)"), std::string::npos);
  }
}

}  // namespace
}  // namespace ringmaster::training
