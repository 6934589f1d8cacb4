// The bytes the ring transport counts (wire_counters.h) against the bytes a
// TCP relay carried: both connections of a 2-rank ring go through relays,
// so the relays see all of its traffic, ZeroMQ's framing included.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "comm/ring_allreduce.h"
#include "tests/comm/ring_harness.h"
#include "tests/comm/tcp_relay.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;
using namespace std::chrono_literals;

// ZMTP 3 puts 2 (short) to 9 (long) bytes of framing before every frame, and
// per connection a 64-byte greeting and a READY command each way.
constexpr uint64_t kMinFraming = 2, kMaxFraming = 9, kMaxPerConnection = 640;

ZmqRingOptions tcp_only() {
  ZmqRingOptions o;
  o.shared_memory = false;  // one host here: the relays stand for the network
  return o;
}

// Two ranks; each reaches the other's listener through a relay.
struct RelayedRing {
  ThreadRing ring;
  std::vector<std::unique_ptr<TcpRelay>> relays;  // relays[r] fronts rank r's listener
  std::vector<std::string> relayed;

  RelayedRing() : ring(2, tcp_only()) {
    for (const std::string& e : ring.endpoints) {
      relays.push_back(std::make_unique<TcpRelay>(e));
      relayed.push_back(relays.back()->endpoint());
    }
    run_ranks(2, [&](int r) { ring.transports[r]->connect(r, relayed, 10000ms); });
  }
  // Both ranks' counters, added up.
  WireCounters counted() const {
    WireCounters all = ring.transports[0]->counters();
    all += ring.transports[1]->counters();
    return all;
  }
  uint64_t relay_bytes() const { return relays[0]->total_bytes() + relays[1]->total_bytes(); }
  int relay_connections() const { return relays[0]->connections() + relays[1]->connections(); }
  // Sums n floats per rank `times` times, each a fresh collective.
  void sum(size_t n, int times, Compression compression) {
    AllreduceOptions o;
    o.compression = compression;
    o.timeout = 10000ms;
    run_ranks(2, [&](int r) {
      RingAllreduce allreduce(*ring.transports[r], o);
      for (int i = 0; i < times; ++i) {
        std::vector<float> x = rank_input(7 + static_cast<uint64_t>(i), r, n);
        allreduce.sum(x, static_cast<uint64_t>(i));
      }
    });
  }
};

TEST(RingWireBytes, TheCountersAreWhatTheRelaysCarriedLessZeroMqFraming) {
  RelayedRing ring;
  // Many small collectives (where the 56-byte chunk headers weigh) and one large.
  ring.sum(100, 40, Compression::kNone);
  ring.sum(1 << 20, 1, Compression::kNone);
  const WireCounters c = ring.counted();
  // Every frame one rank sent, the other received.
  EXPECT_EQ(c.sent_bytes, c.received_bytes);
  EXPECT_EQ(c.sent_frames, c.received_frames);
  // 41 collectives, 2 steps, 2 ranks, at least one chunk (header + payload) each.
  EXPECT_GE(c.sent_frames, 41u * 2 * 2 * 2);
  EXPECT_GE(c.sent_bytes, uint64_t{4} << 20);  // the large sum alone: 2 MiB each way
  // Wait for the relays to pass on what the ranks' I/O threads still write.
  const uint64_t low = c.sent_bytes + kMinFraming * c.sent_frames;
  for (int i = 0; i < 200 && ring.relay_bytes() < low; ++i) std::this_thread::sleep_for(10ms);
  const uint64_t relayed = ring.relay_bytes();
  const uint64_t high = c.sent_bytes + kMaxFraming * c.sent_frames +
                        kMaxPerConnection * static_cast<uint64_t>(ring.relay_connections());
  std::printf(
      "[ measured ] counted %llu bytes in %llu frames; the relays carried %llu (%d connections)\n",
      static_cast<unsigned long long>(c.sent_bytes), static_cast<unsigned long long>(c.sent_frames),
      static_cast<unsigned long long>(relayed), ring.relay_connections());
  EXPECT_EQ(ring.relay_connections(), 2);
  EXPECT_GE(relayed, low);
  EXPECT_LE(relayed, high);
}

TEST(RingWireBytes, Fp16HalvesTheBytesTheRelaysCarry) {
  constexpr size_t kN = size_t{1} << 20;
  uint64_t relayed[2] = {}, counted[2] = {};
  const Compression kinds[2] = {Compression::kNone, Compression::kFp16};
  for (int k = 0; k < 2; ++k) {
    RelayedRing ring;
    const uint64_t relay_before = ring.relay_bytes();
    const WireCounters before = ring.counted();
    ring.sum(kN, 2, kinds[k]);
    const WireCounters c = ring.counted() - before;
    for (int i = 0; i < 200 && ring.relay_bytes() - relay_before < c.sent_bytes; ++i)
      std::this_thread::sleep_for(10ms);
    relayed[k] = ring.relay_bytes() - relay_before;
    counted[k] = c.sent_bytes;
  }
  const double relay_ratio = static_cast<double>(relayed[1]) / static_cast<double>(relayed[0]);
  const double counted_ratio = static_cast<double>(counted[1]) / static_cast<double>(counted[0]);
  std::printf(
      "[ measured ] relays carried %llu bytes with f32, %llu with fp16 (%.4f); "
      "counted %llu and %llu (%.4f)\n",
      static_cast<unsigned long long>(relayed[0]), static_cast<unsigned long long>(relayed[1]),
      relay_ratio, static_cast<unsigned long long>(counted[0]),
      static_cast<unsigned long long>(counted[1]), counted_ratio);
  EXPECT_GE(relayed[0], uint64_t{8} << 20);  // 2 collectives, 2 MiB each way each
  EXPECT_GE(relay_ratio, 0.49);
  EXPECT_LE(relay_ratio, 0.52);
  EXPECT_GE(counted_ratio, 0.49);
  EXPECT_LE(counted_ratio, 0.52);
}

}  // namespace
}  // namespace ringmaster::comm
