// Background all-reduce for overlap with backward: a comm thread owns the
// transport and reduces buckets in submission order while the caller goes
// on computing. submit() returns at once; wait() rethrows the bucket's error.
// Records when each bucket was submitted, started and finished, and the
// bytes its all-reduce really sent and received. Does not
// fuse gradients into buckets (the trainer decides what a bucket is).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "comm/ring_allreduce.h"
#include "comm/ring_transport.h"

namespace ringmaster::comm {

struct BucketTiming {
  uint64_t bucket = 0;
  size_t elements = 0;
  std::chrono::steady_clock::time_point submitted, started, finished;
  bool ok = false;
  WireCounters wire;  // what the transport sent and received for this bucket
};

struct AsyncAllreducerOptions {
  AllreduceOptions allreduce;
  bool average = false;  // divide every result by the world size (DDP's gradient mean)
};

// Thread-safe: submit/wait/timings from any thread. All ranks must submit
// the same buckets (ids and sizes) in the same order.
class AsyncAllreducer {
 public:
  using Handle = uint64_t;

  // Takes the transport (connected) and starts the comm thread.
  AsyncAllreducer(std::unique_ptr<RingTransport> transport, AsyncAllreducerOptions options = {});
  // Fails the buckets not yet started (CommError "shut down"), lets the running
  // one finish or time out, joins. Never hangs longer than one wait's timeout.
  ~AsyncAllreducer();
  AsyncAllreducer(const AsyncAllreducer&) = delete;
  AsyncAllreducer& operator=(const AsyncAllreducer&) = delete;

  // Queues `data` for an in-place all-reduce and returns at once. `data` must
  // stay valid and untouched until wait() for it (or wait_all()) returns.
  // After a failure, every later bucket fails with the same CommError.
  Handle submit(uint64_t bucket, std::span<float> data);
  // Blocks until that bucket is reduced; rethrows its error. Each handle once.
  void wait(Handle handle);
  // wait() for every bucket submitted so far; rethrows the first error.
  void wait_all();
  // Timings of the buckets finished so far, in order; the record is cleared.
  std::vector<BucketTiming> take_timings();
  int world() const { return world_; }
  int rank() const { return rank_; }

 private:
  struct Job {
    Handle handle;
    uint64_t bucket;
    std::span<float> data;
    std::chrono::steady_clock::time_point submitted;
    bool done = false;
    std::exception_ptr error;
  };
  void run();

  std::unique_ptr<RingTransport> transport_;
  RingAllreduce allreduce_;
  bool average_;
  int world_, rank_;

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<Handle, std::shared_ptr<Job>> jobs_;  // submitted, not yet waited for
  std::vector<BucketTiming> timings_;
  std::exception_ptr failure_;  // the first error: later buckets fail with it
  Handle next_handle_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace ringmaster::comm
