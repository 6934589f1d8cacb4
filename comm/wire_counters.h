// What a transport put on the wire and took from it, counted where it hands
// frames to ZeroMQ and takes them back: every frame sent or received (chunk
// headers, payloads, handshakes, aborts, requests, replies), but not a
// ROUTER's routing identity, which never leaves the process. ZeroMQ's own
// framing (ZMTP: 2 or 9 bytes per frame; with CURVE ~30 more, plus the
// connection's greeting and handshake) is not in it: a test measures that
// against a TCP relay (tests/comm/wire_bytes_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmaster::comm {

struct WireCounters {
  uint64_t sent_bytes = 0, received_bytes = 0;
  uint64_t sent_frames = 0, received_frames = 0;

  void count_sent(size_t bytes) {
    sent_bytes += bytes;
    ++sent_frames;
  }
  void count_received(size_t bytes) {
    received_bytes += bytes;
    ++received_frames;
  }
  WireCounters& operator+=(const WireCounters& o) {
    sent_bytes += o.sent_bytes;
    received_bytes += o.received_bytes;
    sent_frames += o.sent_frames;
    received_frames += o.received_frames;
    return *this;
  }
  // What was counted between two readings (`earlier` taken first).
  WireCounters operator-(const WireCounters& earlier) const {
    return {sent_bytes - earlier.sent_bytes, received_bytes - earlier.received_bytes,
            sent_frames - earlier.sent_frames, received_frames - earlier.received_frames};
  }
};

}  // namespace ringmaster::comm
