// The bytes the ring transport counts (wire_counters.h) against the bytes a
// TCP relay carried: both connections of a 2-rank ring go through relays,
// so the relays see all of its traffic, ZeroMQ's framing included. Over the
// ring's own TCP stream (tcp_stream.h), against what the kernel counted on
// the stream's sockets (TCP_INFO).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
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

// Chunks through ZeroMQ, whose connections the relays front.
ZmqRingOptions zeromq_only() {
  ZmqRingOptions o;
  o.shared_memory = false;  // one host here: the relays stand for the network
  o.tcp_stream = false;
  return o;
}

// Sums n floats per rank `times` times, each a fresh collective.
void sum_on(ThreadRing& ring, size_t n, int times, Compression compression) {
  AllreduceOptions o;
  o.compression = compression;
  o.timeout = 10000ms;
  run_ranks(ring.world(), [&](int r) {
    RingAllreduce allreduce(*ring.transports[r], o);
    for (int i = 0; i < times; ++i) {
      std::vector<float> x = rank_input(7 + static_cast<uint64_t>(i), r, n);
      allreduce.sum(x, static_cast<uint64_t>(i));
    }
  });
}

// Two ranks; each reaches the other's listener through a relay.
struct RelayedRing {
  ThreadRing ring;
  std::vector<std::unique_ptr<TcpRelay>> relays;  // relays[r] fronts rank r's listener
  std::vector<std::string> relayed;

  RelayedRing() : ring(2, zeromq_only()) {
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
  void sum(size_t n, int times, Compression compression) { sum_on(ring, n, times, compression); }
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

// Two ranks on TCP streams of their own (shared memory off: one host here).
struct StreamRing {
  ThreadRing ring;
  StreamRing()
      : ring(2, [] {
          ZmqRingOptions o;
          o.shared_memory = false;
          return o;
        }()) {
    run_ranks(2, [&](int r) { ring.transports[r]->connect(r, ring.endpoints, 10000ms); });
  }
  // Both ranks' TCP_INFO counts, added up: {acknowledged sent, received}.
  std::pair<uint64_t, uint64_t> kernel() const {
    uint64_t sent = 0, received = 0;
    for (const auto& t : ring.transports) {
      uint64_t s = 0, r = 0;
      EXPECT_TRUE(t->kernel_stream_bytes(s, r));
      sent += s;
      received += r;
    }
    return {sent, received};
  }
  WireCounters counted() const {
    WireCounters all = ring.transports[0]->counters();
    all += ring.transports[1]->counters();
    return all;
  }
  // What the kernel counted and what the ranks counted while `work` ran;
  // waits (bounded) for the last acknowledgements.
  std::pair<std::pair<uint64_t, uint64_t>, WireCounters> during(const std::function<void()>& work) {
    const auto k0 = kernel();
    const WireCounters c0 = counted();
    work();
    const WireCounters c = counted() - c0;
    auto k = kernel();
    for (int i = 0; i < 200 && k.first - k0.first < c.sent_bytes; ++i) {
      std::this_thread::sleep_for(10ms);
      k = kernel();
    }
    return {{k.first - k0.first, k.second - k0.second}, c};
  }
};

TEST(RingWireBytes, OverTheTcpStreamTheCountersAreWhatTheKernelCounted) {
  StreamRing ring;
  for (const auto& t : ring.ring.transports) ASSERT_TRUE(t->sends_over_tcp_stream());
  const auto [kernel, c] = ring.during([&] {
    sum_on(ring.ring, 100, 40, Compression::kNone);
    sum_on(ring.ring, 1 << 20, 1, Compression::kNone);
  });
  std::printf(
      "[ measured ] counted %llu bytes sent in %llu frames, %llu received; the kernel: %llu "
      "acknowledged, %llu received\n",
      static_cast<unsigned long long>(c.sent_bytes), static_cast<unsigned long long>(c.sent_frames),
      static_cast<unsigned long long>(c.received_bytes),
      static_cast<unsigned long long>(kernel.first),
      static_cast<unsigned long long>(kernel.second));
  EXPECT_GE(c.sent_frames, 41u * 2 * 2 * 2);
  EXPECT_GE(c.sent_bytes, uint64_t{4} << 20);
  // Nothing but chunks went over the streams meanwhile, and nothing else
  // over ZeroMQ: the counts agree to the byte, headers included.
  EXPECT_EQ(kernel.first, c.sent_bytes);
  EXPECT_EQ(kernel.second, c.received_bytes);
}

TEST(RingWireBytes, Fp16HalvesTheBytesTheKernelCountedOnTheTcpStream) {
  uint64_t received[2] = {};
  const Compression kinds[2] = {Compression::kNone, Compression::kFp16};
  for (int k = 0; k < 2; ++k) {
    StreamRing ring;
    received[k] =
        ring.during([&] { sum_on(ring.ring, size_t{1} << 20, 2, kinds[k]); }).first.second;
  }
  const double ratio = static_cast<double>(received[1]) / static_cast<double>(received[0]);
  std::printf("[ measured ] the kernel received %llu bytes with f32, %llu with fp16 (%.4f)\n",
              static_cast<unsigned long long>(received[0]),
              static_cast<unsigned long long>(received[1]), ratio);
  EXPECT_GE(received[0], uint64_t{8} << 20);
  EXPECT_GE(ratio, 0.49);
  EXPECT_LE(ratio, 0.52);
}

}  // namespace
}  // namespace ringmaster::comm
