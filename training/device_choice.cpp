// pick_device (see device_choice.h).
#include "training/device_choice.h"

#include "ops/check.h"

namespace ringmaster::training {

std::string format_gpu_list(const std::vector<int>& gpus) {
  if (gpus.empty()) return "none";
  std::string s;
  for (int id : gpus) {
    if (!s.empty()) s += ',';
    s += std::to_string(id);
  }
  return s;
}

DevicePick pick_device(DeviceChoice want, const GivenGpus& given, int device_count, int threads,
                       const std::string& no_gpu_reason) {
  if (given)
    for (int id : *given)
      RM_THROW_IF(id < 0 || id >= device_count, "this task was given GPU ", id, " but the CUDA ",
                  "runtime finds ", device_count, " device(s)",
                  device_count == 0 ? " (" + no_gpu_reason + ")" : std::string());
  const bool have = given ? !given->empty() : device_count > 0;
  const int ordinal = !have ? -1 : given ? given->front() : 0;
  const std::string what = given ? "this task's GPUs: " + format_gpu_list(*given)
                                 : std::to_string(device_count) + " CUDA device(s) found";
  const std::string none =
      given ? "this task was given no GPU: resources.gpus is 0" : "no GPU: " + no_gpu_reason;
  const std::string cuda_line = "device: cuda:" + std::to_string(ordinal);
  const std::string cpu_line = "device: cpu, " + std::to_string(threads) + " threads";
  switch (want) {
    case DeviceChoice::kCuda:
      RM_THROW_IF(!have, "train.device is \"cuda\" but ",
                  given ? none : "no CUDA device is usable: " + no_gpu_reason);
      return {ordinal, cuda_line + " (train.device \"cuda\", " + what + ")"};
    case DeviceChoice::kCpu:
      return {-1, cpu_line + " (train.device \"cpu\")"};
    case DeviceChoice::kAuto:
      break;
  }
  if (have) return {ordinal, cuda_line + " (train.device \"auto\": " + what + ")"};
  return {-1, cpu_line + " (" + none + ")"};
}

}  // namespace ringmaster::training
