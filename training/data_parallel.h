// A training task's place in a data-parallel job: its rank, the world size,
// the address its ring listens on, and how it meets its peers. With it,
// run_training splits every global batch across the ranks and keeps the
// replicas in step (see gradient_reducer.h). The rendezvous is whatever the
// caller provides: the worker agent's goes through the coordinator, the
// standalone `ringmaster train --rank` uses a shared folder (file_rendezvous).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ops/check.h"

namespace ringmaster::training {

// What the rendezvous hands back: every rank's ring endpoint in rank order,
// and in parameter-server mode the endpoints of the job's shards.
struct Peers {
  std::vector<std::string> ring;
  std::vector<std::string> ps;
  std::string nccl_id;  // rank 0's NCCL unique id (hex), when it offered one
};

// Communication figures of a run (summed over its steps).
struct SyncStats {
  int64_t steps = 0, buckets = 0;
  // What this rank sent: frames counted by the ZeroMQ ring or the parameter
  // server's sockets; on NCCL computed, 2 (n - 1) / n of each bucket.
  int64_t bytes_on_wire = 0;
  double comm_seconds = 0.0;  // bucket start to finish, summed
  double wait_seconds = 0.0;  // time the training thread waited for buckets after backward
  // Buckets whose all-reduce started before backward ended: the overlap.
  int64_t buckets_started_before_backward_end = 0;
};

// A peer of this data-parallel rank died or stalled (a comm::CommError under
// it): the run ends, and a cluster restarts the job instead of failing it.
class PeerLost : public ops::Error {
 public:
  using ops::Error::Error;
};

struct DataParallel {
  int rank = 0;
  int world_size = 1;
  // The address this rank's ring listens on; every peer must reach it.
  std::string host = "127.0.0.1";
  // The job's name on parameter-server shards (a cluster job's id).
  std::string job_id;
  // sync.mode "ps": shard endpoints to use when the rendezvous names none
  // (standalone `ringmaster ps` processes).
  std::vector<std::string> ps_servers;
  // CURVE on the ring and the job's parameter-server shards (Z85, both or
  // neither): the job's keypair, handed out by the coordinator at
  // assignment, so only the job's ranks can connect.
  std::string ring_public_key, ring_secret_key;
  // The world's generation (a cluster job's attempt; see ZmqRingOptions):
  // the ring refuses a rank of another.
  uint64_t generation = 0;
  // Once set, waits on the peers (the ring's handshake and collectives, the
  // parameter server's replies) give up within about a second with a
  // comm::CommError instead of at sync.timeout_s. run_training sets it to
  // RunOptions::cancel.
  const std::atomic<bool>* cancel = nullptr;
  // Publishes this rank's endpoint (and rank 0 its NCCL unique id, empty
  // when it trains without NCCL) and blocks until the peers are known.
  // Throws ops::Error naming what is missing when they do not come in time.
  std::function<Peers(const std::string& endpoint, const std::string& nccl_id)> rendezvous;
};

// A rendezvous through files in `dir` (which all ranks see): writes
// <dir>/rank-<r>.endpoint (the endpoint, then rank 0's NCCL id on a second
// line), then waits until the file of every rank exists.
// Use a fresh folder per run: stale files would point at dead peers (which
// the ring's handshake then reports). Throws ops::Error after `timeout`, or
// when `cancel` is set.
Peers file_rendezvous(const std::string& dir, int rank, int world_size, const std::string& endpoint,
                      const std::string& nccl_id, std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel = nullptr);

}  // namespace ringmaster::training
