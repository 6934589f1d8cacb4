// Which GPUs a worker offers and which of them a task gets. A worker offers
// the CUDA devices `ringmaster worker --gpus` names (ordinals after
// CUDA_VISIBLE_DEVICES; default all the runtime finds), a task with
// resources.gpus k gets k distinct ones, and `ringmaster up --workers N`
// splits a host's GPUs among its workers so that two ranks of one job never
// share a GPU (NCCL refuses that). Pure functions; errors are ops::Error
// naming the flag or field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "training/device_choice.h"

namespace ringmaster::worker {

// "all" -> unset (every device found); "none" or "" -> no GPU; "0,2" -> those
// ordinals. Throws on anything else, a negative ordinal or a repeated one.
std::optional<std::vector<int>> parse_gpu_list(const std::string& text);

// parse_gpu_list's inverse: "none", or the ordinals joined by commas.
using training::format_gpu_list;

// The ordinals a worker offers: all of 0..device_count-1 when unset, else the
// given ones, each of which must be below device_count (`no_gpu_reason` says
// why there are none).
std::vector<int> resolve_gpus(const std::optional<std::vector<int>>& wanted, int device_count,
                              const std::string& no_gpu_reason);

// The GPUs a task needing `k` gets from what its worker offers and what its
// other tasks hold: the first k free ones, distinct. Throws when fewer are
// free (the scheduler should not have placed it).
std::vector<int> gpus_for_task(const std::vector<int>& offered, const std::vector<int>& held,
                               int64_t k);

// `workers` disjoint parts of `gpus`, in order, sizes differing by at most
// one, the larger first (3 GPUs, 2 workers: {0,1} {2}; 1 GPU, 2 workers:
// {0} {}).
std::vector<std::vector<int>> split_gpus(const std::vector<int>& gpus, int workers);

}  // namespace ringmaster::worker
