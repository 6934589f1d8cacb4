// ParameterServerShard: one shard of the parameter server. It owns the keys
// (flat f32 tensors) that clients place on it, for any number of jobs, and
// serves init / push / pull / done over a ZeroMQ ROUTER on its own thread.
// The optimizer step is the host's: a PsUpdateFactory (ps_common.h) builds a
// job's update when the job is initialised, so comm/ never sees models/.
// A rank on the shard's host gets a shared-memory segment at init
// (memfd_segment.h) that its pushes and pulls go through instead of the
// socket (comm/README.md, "Same host: shared memory").
// Does not persist anything: a restarted shard has forgotten its jobs.
//
// Protocol (comm/README.md has the wire format): every request carries job_id,
// rank and a request id; replies come back in order of readiness, not of
// arrival, since pulls wait (BSP: for every rank's push of the previous step;
// SSP: for the slowest rank to be within the staleness bound). A wait has a
// deadline: a rank that sends nothing for the job's timeout while another
// waits on it fails the job, and every pending and later request of that job
// gets an `error` reply (code `peer_timeout`) naming the silent rank. A bad
// message gets an `error` reply and the shard carries on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "comm/ps_common.h"
#include "comm/transport.h"

namespace ringmaster::comm {

struct PsShardOptions {
  std::string endpoint = "tcp://127.0.0.1:0";  // port 0: any free port (see endpoint())
  // Checked against each init's shard/shards (-1: accept any), so a client
  // with a wrong endpoint list is refused instead of training on the wrong keys.
  int shard_index = -1;
  int shards = -1;
  // ZMQ_MAXMSGSIZE of the ROUTER: the largest frame accepted (a bigger one
  // drops that peer's connection). Must hold a job's whole share of this shard.
  int64_t max_message_bytes = int64_t{1} << 30;
  std::string only_job;  // non-empty: refuse every other job id (a coordinator-hosted shard)
  size_t max_jobs = 64;  // live jobs at once; an init beyond that is refused
  // Shared-memory segments (one per rank on this host, of the rank's share of
  // the shard) at once; ranks beyond that use the wire. Each holds an fd
  // until its client's first push or pull through it.
  size_t max_segments = 256;
  // CURVE (curve.h): the shard's secret key and the ZAP domain its context's
  // ZapAuthenticator decides under (empty: plain TCP).
  std::string curve_secret_key;
  std::string zap_domain;
};

struct PsShardStats {
  uint64_t bad_messages = 0;  // failed validation (answered with an error)
  uint64_t pushes = 0, pulls = 0, updates = 0;
  uint64_t failed_jobs = 0;  // jobs failed by a timeout
  size_t live_jobs = 0;
};

// Thread-safety: start/stop/endpoint from one owning thread; stats() from any.
// The update callbacks run on the shard's thread.
class ParameterServerShard {
 public:
  ParameterServerShard(Context& ctx, PsUpdateFactory factory, PsShardOptions options = {});
  ~ParameterServerShard();  // stop()
  ParameterServerShard(const ParameterServerShard&) = delete;
  ParameterServerShard& operator=(const ParameterServerShard&) = delete;

  // Binds and starts the thread. Throws TransportError when the bind fails.
  void start();
  // Stops the thread (within ~50 ms) and drops every job. Idempotent.
  void stop();
  // The bound endpoint, port filled in (after start()).
  std::string endpoint() const { return endpoint_; }
  PsShardStats stats() const;

  struct State;  // the jobs and counters; defined in ps_shard.cpp

 private:
  void run();

  Context& ctx_;
  PsUpdateFactory factory_;
  PsShardOptions options_;
  std::unique_ptr<Socket> socket_;
  std::unique_ptr<State> state_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace ringmaster::comm
