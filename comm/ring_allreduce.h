// Ring all-reduce of float32 buffers, in place, over a RingTransport:
// reduce-scatter then all-gather between ring neighbours, chunked and
// pipelined, any buffer size (0, fewer elements than ranks, uneven splits).
// Optional FP16 compression on the wire with per-bucket error feedback. Does
// not fuse buckets or run in the background (see async_allreducer.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "comm/compression.h"
#include "comm/fp16_compression.h"
#include "comm/ring_transport.h"

namespace ringmaster::comm {

// Compression (comm/compression.h): kNone gives every rank the same bytes;
// kFp16 sends a per-chunk power-of-two scale, accumulates in fp32.

struct AllreduceOptions {
  Compression compression = Compression::kNone;
  // Elements per message = chunk_bytes / 4 (fp16 sends half as many bytes).
  // All ranks must use the same value (a mismatch is a CommError).
  size_t chunk_bytes = size_t{1} << 20;
  // Bound on each wait: one receive, a full send queue, the final flush.
  std::chrono::milliseconds timeout{30000};
  // kFp16: add each bucket's rounding residual into its next input.
  bool error_feedback = true;
};

// Runs all-reduces on one ring. Every rank calls sum()/average() with the
// same sizes, bucket ids and options, in the same order. Not thread-safe:
// one thread at a time (it owns the transport while a call runs). Keeps the
// fp16 staging buffers and the error-feedback residuals between calls.
class RingAllreduce {
 public:
  // The transport must outlive this object. Throws std::invalid_argument when
  // a chunk would not fit the transport's max_payload_bytes().
  explicit RingAllreduce(RingTransport& transport, AllreduceOptions options = {});

  // data = the element-wise sum over ranks. Blocks until done; throws
  // CommError (a dead, stalled or misbehaving peer; the ring is then broken).
  // `bucket` is checked on the wire and keys the fp16 residual. A world of 1
  // returns at once (nothing is compressed).
  void sum(std::span<float> data, uint64_t bucket = 0);
  // sum(), then scaled by 1 / world.
  void average(std::span<float> data, uint64_t bucket = 0);

  const AllreduceOptions& options() const { return options_; }
  RingTransport& transport() { return transport_; }

 private:
  RingTransport& transport_;
  AllreduceOptions options_;
  ErrorFeedback feedback_;
  std::vector<uint16_t> rs_wire_, ag_wire_;  // fp16 payloads of each phase, (n,)
};

}  // namespace ringmaster::comm
