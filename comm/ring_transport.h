// The ring transport: what a ring collective needs and nothing more. Send one
// chunk to the right neighbour, receive one chunk from the left neighbour,
// wait until sent chunks have left the process; every wait has a deadline.
// Algorithms (ring_allreduce.h) are written against this interface, never
// against sockets; zmq_ring_transport.h implements it over ZeroMQ.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "comm/comm_error.h"
#include "comm/wire_counters.h"

namespace ringmaster::comm {

// Failures throw CommError (comm_error.h). Once a transport has thrown one
// it is broken: every later call throws a CommError at once.

// What a chunk is: the receiver states what it expects, and a chunk that
// differs in any field but `scale` is a protocol error naming the sender.
enum class Codec : uint16_t { kF32 = 0, kF16 = 1 };

struct ChunkHeader {
  uint64_t collective = 0;  // sequence number of the collective on this ring
  uint64_t bucket = 0;      // caller's tag (bucket id): catches ranks out of step
  uint32_t step = 0;        // ring step, 0 .. 2 (world - 1) - 1
  uint32_t piece = 0;       // index of the chunk within the step
  Codec codec = Codec::kF32;
  uint64_t bytes = 0;  // payload bytes
  float scale = 1.0f;  // kF16: the payload is value * scale; not checked
};

class RingTransport {
 public:
  using Clock = std::chrono::steady_clock;
  // Hands the payload of a received chunk (valid only during the call) and its header.
  using Consumer = std::function<void(const ChunkHeader&, std::span<const std::byte>)>;

  virtual ~RingTransport() = default;

  virtual int rank() const = 0;
  virtual int world() const = 0;
  // Largest payload a chunk may carry (the receiving side enforces it).
  virtual size_t max_payload_bytes() const = 0;

  // Queues one chunk for the right neighbour and returns; blocks only while
  // the queue is full, at most until `deadline`. A transport may send from
  // the payload without copying it: it must stay valid and unchanged until
  // flush() returns. (ZmqRingTransport copies it when it goes through
  // ZeroMQ, so that a collective that fails never leaves the caller's buffer
  // referenced; over its own TCP stream it holds it until the socket took it,
  // over shared memory until a slot is free or the receiver read it, and it
  // lets go of it when it fails.)
  virtual void send(const ChunkHeader& header, std::span<const std::byte> payload,
                    Clock::time_point deadline) = 0;
  // Waits until `deadline` for the next chunk from the left neighbour, checks
  // it against `expected` (every field but scale; the payload size against
  // `bytes`), then calls `consume` with it.
  virtual void receive(const ChunkHeader& expected, const Consumer& consume,
                       Clock::time_point deadline) = 0;
  // receive(), with the payload put into `dst` (expected.bytes long) rather
  // than handed over; returns the chunk's header. A transport that can
  // place the bytes there directly (no copy of its own) overrides it.
  virtual ChunkHeader receive_into(const ChunkHeader& expected, std::span<std::byte> dst,
                                   Clock::time_point deadline) {
    ChunkHeader got;
    receive(
        expected,
        [&](const ChunkHeader& h, std::span<const std::byte> bytes) {
          got = h;
          if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
        },
        deadline);
    return got;
  }
  // Waits until every chunk sent so far has left this process (its payload
  // is no longer referenced).
  virtual void flush(Clock::time_point deadline) = 0;
  // Everything this transport sent and received since it was made
  // (wire_counters.h). Read it from the thread that uses the transport.
  virtual WireCounters counters() const = 0;

  // Numbers collectives: every rank calls it once per collective, in the same order.
  uint64_t begin_collective() { return collectives_++; }

 private:
  uint64_t collectives_ = 0;
};

}  // namespace ringmaster::comm
