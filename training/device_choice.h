// Where a task trains: train.device against the GPUs the task was given.
// A cluster task trains on the GPUs its worker handed it (resources.gpus of
// the worker's --gpus, see worker/gpu_placement.h), so two ranks on one host
// never share a GPU; a standalone `ringmaster train` may use any GPU the CUDA
// runtime finds unless --gpus names them. A task trains on one device: the
// first GPU it was given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "training/job_spec.h"

namespace ringmaster::training {

// CUDA ordinals in this process's numbering (after CUDA_VISIBLE_DEVICES).
// Unset: any device the runtime finds.
using GivenGpus = std::optional<std::vector<int>>;

// "none" for no GPU, else the ordinals joined by commas (as --gpus takes them).
std::string format_gpu_list(const std::vector<int>& gpus);

struct DevicePick {
  int cuda_ordinal = -1;  // -1: the CPU
  std::string log_line;   // "device: ...", said once in the task's log
};

// The pure decision, for any device count. `no_gpu_reason` says why the
// runtime finds none when device_count is 0. Throws ops::Error naming the
// field when train.device is "cuda" and the task has no GPU, or when a given
// ordinal is not below device_count.
DevicePick pick_device(DeviceChoice want, const GivenGpus& given, int device_count, int threads,
                       const std::string& no_gpu_reason);

}  // namespace ringmaster::training
