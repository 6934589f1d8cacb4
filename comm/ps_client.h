// ParameterServerClient: one rank's side of the parameter server. It places
// the model's tensors on the shards (plan_ps_slices), pushes gradients (f32,
// or fp16 with per-key scale and error feedback) and pulls weights, over one
// ZeroMQ DEALER per shard. Requests to the shards go out together and the
// replies are collected under one deadline. It does not compute gradients or
// step an optimizer (the shard's host does), and it keeps no weights.
//
// Typical loop (BSP or SSP):
//   client.init(rank == 0 ? &weights : nullptr);   // rank 0 seeds the shards
//   client.pull(0, weights);
//   for s in 0..: grads = backward(weights); client.push(s, grads); client.pull(s + 1, weights);
//   client.finish();
//
// Errors: a shard's error reply, a reply that fails validation, or no reply
// within timeout + grace throws PsError (a CommError) naming the shard, its
// endpoint and, for a peer timeout, the silent rank. Bad arguments (a missing
// tensor, a wrong size or dtype) throw ops::Error. After a throw the client
// may be used again (stale replies are dropped by request id), but a failed
// job stays failed on its shards. Not thread-safe: one thread per client;
// every call blocks until its replies are in or its deadline passes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/ps_common.h"
#include "comm/transport.h"

namespace ringmaster::comm {

// An error reply from a shard, or no reply in time.
class PsError : public CommError {
 public:
  PsError(std::string code, const std::string& what, int silent_rank = -1)
      : CommError(what), code_(std::move(code)), silent_rank_(silent_rank) {}
  // "peer_timeout", "job_failed", "no_reply", "bad_step", "init_conflict", ...
  const std::string& code() const { return code_; }
  int silent_rank() const { return silent_rank_; }  // -1 when no rank is named

 private:
  std::string code_;
  int silent_rank_;
};

struct PsClientOptions {
  std::string job_id = "job";
  int rank = 0;
  int world = 1;
  PsMode mode = PsMode::kBsp;
  int staleness = 0;  // SSP: how many steps a rank may run ahead of the slowest
  Compression compression = Compression::kNone;
  // The shard fails the job when a rank it waits on is silent this long; the
  // client itself gives up on a reply after timeout + grace.
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds grace{2000};
  int64_t slice_elems = 0;                       // see plan_ps_slices (0: auto)
  int64_t max_message_bytes = int64_t{1} << 30;  // ZMQ_MAXMSGSIZE for replies
  // CURVE with the job's keypair (Z85; empty: plain TCP): the shards hold
  // its secret key, so the server key is the same public key unless
  // curve_server_key names another.
  std::string curve_public_key, curve_secret_key, curve_server_key;
  // Handed to the shard's PsUpdateFactory as PsJobInfo::update (e.g. the
  // optimizer and LR schedule for a standalone `ringmaster ps`). Every rank
  // must send the same.
  nlohmann::json update = nlohmann::json::object();
  // A shard on this host (same_host_id(), shm_link.h) may offer a memfd at
  // init; pushes and pulls then go through it, and only their headers through
  // the socket. false, or RINGMASTER_PS_SHM=0 in the environment: the wire.
  bool shared_memory = true;
  // The run's cancel flag (null: none): once set, a call waiting for
  // replies gives up within a fraction of a second (PsError "cancelled")
  // instead of at timeout + grace. Must outlive the client.
  const std::atomic<bool>* cancel = nullptr;
};

// What the last pull saw on the shards (the smallest over them).
struct PsPullInfo {
  int64_t version = 0;    // updates applied
  int64_t min_clock = 0;  // steps pushed by the slowest rank
};

class ParameterServerClient {
 public:
  // `shards`: the shards' endpoints, in shard-index order. `keys`: every
  // tensor of the model (all ranks pass the same list). Connects (ZeroMQ
  // connects lazily; nothing blocks here). Throws ops::Error on bad keys or
  // options, TransportError on a bad endpoint.
  ParameterServerClient(Context& ctx, std::vector<std::string> shards, std::vector<PsKey> keys,
                        PsClientOptions options);
  ~ParameterServerClient();
  ParameterServerClient(const ParameterServerClient&) = delete;
  ParameterServerClient& operator=(const ParameterServerClient&) = delete;

  // Joins the job on every shard. The rank that passes weights (usually rank
  // 0) seeds the shards; others pass nullptr and wait until it has. A second
  // init with other weights or another configuration is refused
  // (init_conflict). Blocks until every shard answered.
  void init(const PsTensors* weights);
  // This rank's gradient for `step` (every key, any shape with the key's
  // numel, f32 on the CPU). With fp16 the rounding residual is kept and added
  // to the next push. Blocks until every shard acknowledged.
  void push(int64_t step, const PsTensors& grads);
  // The weights for `step` into `weights` (existing tensors of the right numel
  // are overwritten in place; missing ones are created flat). Blocks until the
  // shards allow it (BSP: all pushes of step - 1 applied; SSP: the slowest rank
  // has pushed at least step - staleness steps).
  void pull(int64_t step, PsTensors& weights);
  // Tells the shards this rank is done; a job whose ranks are all done is
  // dropped from the shards. Blocks.
  void finish();

  const std::vector<PsSlice>& placement() const { return plan_; }
  PsPullInfo last_pull() const { return last_pull_; }
  // Sum over keys of |residual| (fp16 error feedback), for tests and metrics.
  double residual_l1() const;
  // Bytes of gradient payload sent by the last push (all shards), on the wire
  // or through shared memory.
  int64_t last_push_bytes() const { return last_push_bytes_; }
  // Shards whose pushes and pulls go through a shared-memory segment.
  int shared_memory_shards() const;
  // Every frame sent to and received from the shards, requests and replies
  // with their headers (wire_counters.h), summed over the shards.
  WireCounters counters() const;

 private:
  struct Shard;
  // Sends one request per shard (frames[i] to shard i), then collects one
  // reply per shard; throws PsError on error replies or the deadline, after
  // dropping the shared-memory segments (a late answer may still write there).
  std::vector<Message> exchange(const std::string& what, std::vector<Message> requests,
                                std::chrono::milliseconds wait);
  std::vector<Message> exchange_once(const std::string& what, std::vector<Message> requests,
                                     std::chrono::milliseconds wait);
  nlohmann::json base_header(int64_t rid) const;

  PsClientOptions options_;
  std::vector<PsKey> keys_;
  std::vector<PsSlice> plan_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::map<std::string, std::vector<float>> residual_;  // by slice key (fp16 only)
  int64_t next_rid_ = 1;
  PsPullInfo last_pull_;
  int64_t last_push_bytes_ = 0;
};

}  // namespace ringmaster::comm
