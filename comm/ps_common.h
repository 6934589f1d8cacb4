// Types shared by the parameter-server shard (ps_shard.h) and client
// (ps_client.h): keys, sync modes, compression, and the placement of keys on
// shards (plan_ps_slices, a pure function every client computes alike). No
// sockets here. Pure functions and plain structs; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/comm_error.h"
#include "comm/compression.h"
#include "ops/tensor.h"

namespace ringmaster::comm {

// Named f32 tensors. On a shard every tensor is flat (numel,), plain, on the CPU.
using PsTensors = std::map<std::string, ops::Tensor>;

// One tensor of the model as the client knows it.
struct PsKey {
  std::string name;
  int64_t numel = 0;
};

// BSP: the weights for step s+1 exist once every rank's gradient for step s
// is in (averaged, one optimizer step). SSP: each push is applied on arrival
// (divided by world), and a rank may start step s once the slowest rank has
// pushed at least s - staleness steps.
enum class PsMode { kBsp, kSsp };
// Gradients on the wire are comm::Compression (compression.h): none (f32,
// exact) or fp16 (per-key scale, halfs; the client keeps the rounding residual
// and adds it to the next step's gradient).

const char* ps_mode_name(PsMode m);  // "bsp" | "ssp"

// What a shard knows about a job, from the first init it received.
struct PsJobInfo {
  std::string job_id;
  int world = 1;
  PsMode mode = PsMode::kBsp;
  int staleness = 0;  // SSP only
  std::chrono::milliseconds timeout{10000};
  int shard = 0, shards = 1;
  // Opaque to comm/: the host's optimizer configuration as the client sent it
  // (e.g. {"optimizer": {...}, "lr_schedule": {...}, "steps_per_epoch": n}).
  nlohmann::json update = nlohmann::json::object();
};

// One optimizer step on a shard, in place: `weights` and `grads` hold the
// shard's keys (flat f32). BSP: grads are the mean over the world and `step`
// the step they belong to (0, 1, ...). SSP: grads are one rank's gradient
// divided by world and `step` that rank's step. Called on the shard's thread.
using PsUpdate = std::function<void(int64_t step, PsTensors& weights, const PsTensors& grads)>;
// Builds a job's update when its first init arrives. `weights` are the shard's
// tensors for the job's whole life (an optimizer may keep handles to them).
// Throws (any std::exception) to refuse the job; the init gets an error reply.
using PsUpdateFactory = std::function<PsUpdate(const PsJobInfo& job, PsTensors& weights)>;

// A contiguous piece of one tensor, stored on one shard under `key`.
struct PsSlice {
  std::string key;     // the tensor name, or "<name>@<offset>" when the tensor is split
  std::string tensor;  // the tensor's name
  int64_t offset = 0;  // first element within the tensor
  int64_t numel = 0;
  int shard = 0;
};

// Placement, deterministic in the key list (any order; names must be unique):
// each tensor larger than `slice_elems` is cut into near-equal slices of at
// most that many elements (0: auto, max(65536, ceil(total / (4 * shards)))),
// then slices go, largest first (ties by key), to the least-loaded shard
// (ties: lowest index). Returned sorted by (shard, key). Throws ops::Error on
// duplicate names, numel < 1, shards < 1.
std::vector<PsSlice> plan_ps_slices(const std::vector<PsKey>& keys, int shards,
                                    int64_t slice_elems = 0);

// fp16 encoding of n floats with one scale: scale = max|x| / 16384 (1 when
// that is 0 or not finite), h = half(x / scale). The residual x - decode(h) is
// written to `residual` when it is not null. Decode: x ~= float(h) * scale.
float ps_encode_fp16(const float* x, int64_t n, uint16_t* h, float* residual);
void ps_decode_fp16(const uint16_t* h, int64_t n, float scale, float* x);

}  // namespace ringmaster::comm
