// The ring's same-host path (shm_link.h): ranks of one host exchange chunks
// through shared memory, give the same bits as over TCP, split chunks larger
// than a slot, queue what does not fit, mix with TCP in one ring, and can be
// switched off. Failures over it are in zmq_ring_transport_test.cpp and
// ring_process_test.cpp, which run with it on (the default).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "comm/ring_allreduce.h"
#include "comm/shm_link.h"
#include "tests/comm/ring_harness.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;

// Sums one input per rank on a fresh ring with `options` (per rank); returns
// rank 0's result and checks that every rank got the same bits.
std::vector<float> ring_sum(const std::vector<ZmqRingOptions>& options, size_t n,
                            AllreduceOptions allreduce, std::vector<bool>* sends_shm = nullptr) {
  const int world = static_cast<int>(options.size());
  std::vector<std::unique_ptr<Context>> contexts;
  std::vector<std::unique_ptr<ZmqRingTransport>> transports;
  std::vector<std::string> endpoints;
  for (int r = 0; r < world; ++r) {
    contexts.push_back(std::make_unique<Context>());
    transports.push_back(std::make_unique<ZmqRingTransport>(options[r]));
    endpoints.push_back(transports.back()->listen(*contexts.back(), "127.0.0.1"));
  }
  std::vector<std::vector<float>> out(world);
  allreduce.timeout = milliseconds(10000);
  run_ranks(world, [&](int r) {
    transports[r]->connect(r, endpoints, milliseconds(10000));
    RingAllreduce ar(*transports[r], allreduce);
    out[r] = rank_input(11, r, n);
    ar.sum(out[r], 5);
    ar.sum(out[r], 6);  // a second collective on the same links
  });
  for (int r = 1; r < world; ++r)
    EXPECT_EQ(std::memcmp(out[r].data(), out[0].data(), n * sizeof(float)), 0) << "rank " << r;
  if (sends_shm)
    for (auto& t : transports) sends_shm->push_back(t->sends_over_shared_memory());
  for (int r = 0; r < world; ++r) {
    const WireCounters c = transports[r]->counters();
    EXPECT_GT(c.sent_bytes, 0u);
  }
  transports.clear();
  return out[0];
}

ZmqRingOptions shm(bool on, uint32_t slots = 16, uint64_t slot_bytes = uint64_t{1} << 20,
                   bool cross_memory_attach = true) {
  ZmqRingOptions o;
  o.shared_memory = on;
  o.cross_memory_attach = cross_memory_attach;
  o.shm_slots = slots;
  o.shm_slot_bytes = slot_bytes;
  return o;
}

TEST(RingSharedMemory, SameHostRanksUseItAndGetTheBitsTcpGives) {
  for (int world : {2, 3, 4}) {
    SCOPED_TRACE("world " + std::to_string(world));
    const size_t n = 1000003;
    std::vector<bool> used;
    const auto via_shm = ring_sum(std::vector<ZmqRingOptions>(world, shm(true)), n, {}, &used);
    const auto via_tcp = ring_sum(std::vector<ZmqRingOptions>(world, shm(false)), n, {});
    for (int r = 0; r < world; ++r) EXPECT_TRUE(used[r]) << "rank " << r;
    EXPECT_EQ(std::memcmp(via_shm.data(), via_tcp.data(), n * sizeof(float)), 0);
  }
}

// 3 ranks, 64 KiB chunks, `n` floats, each compression: the same bits over
// shared memory with `options` as over TCP, every rank sending through it.
void expect_the_bits_tcp_gives(const ZmqRingOptions& options, size_t n) {
  for (const Compression c : {Compression::kNone, Compression::kFp16}) {
    SCOPED_TRACE(to_string(c));
    AllreduceOptions a;
    a.compression = c;
    a.chunk_bytes = 65536;
    a.error_feedback = false;
    std::vector<bool> used;
    const auto shared = ring_sum(std::vector<ZmqRingOptions>(3, options), n, a, &used);
    const auto tcp = ring_sum(std::vector<ZmqRingOptions>(3, shm(false)), n, a);
    for (int r = 0; r < 3; ++r) EXPECT_TRUE(used[r]) << "rank " << r;
    EXPECT_EQ(std::memcmp(shared.data(), tcp.data(), n * sizeof(float)), 0);
  }
}

TEST(RingSharedMemory, ChunksLargerThanASlotAndFullRingsStillSumExactly) {
  // 2 slots of 4 KiB against 64 KiB chunks: every chunk is cut into 16
  // parts, and a step's chunks wait in the sender's queue for free slots.
  // Without cross-memory attach, so that every chunk goes through the slots.
  expect_the_bits_tcp_gives(shm(true, 2, 4096, false), 300007);
}

TEST(RingSharedMemory, AStepsChunksOutnumberingTheSlotsGoAsDescriptors) {
  // 2 slots, 64 KiB chunks, 3 ranks: about 20 chunks per step, all
  // descriptors in flight at once (cross-memory attach), none waiting for a slot.
  expect_the_bits_tcp_gives(shm(true, 2, 65536), 1000003);
}

TEST(RingSharedMemory, ARingMixesItWithTcp) {
  // Rank 1 will not take shared memory: 0 -> 1 and 1 -> 2 go over TCP, 2 -> 0 does not.
  std::vector<bool> used;
  const size_t n = 50001;
  const auto mixed = ring_sum({shm(true), shm(false), shm(true)}, n, {}, &used);
  EXPECT_FALSE(used[0]);
  EXPECT_FALSE(used[1]);
  EXPECT_TRUE(used[2]);
  const auto tcp = ring_sum(std::vector<ZmqRingOptions>(3, shm(false)), n, {});
  EXPECT_EQ(std::memcmp(mixed.data(), tcp.data(), n * sizeof(float)), 0);
}

TEST(RingSharedMemory, TheEnvironmentSwitchesItOff) {
  ASSERT_EQ(setenv("RINGMASTER_RING_SHM", "0", 1), 0);
  std::vector<bool> used;
  ring_sum(std::vector<ZmqRingOptions>(2, shm(true)), 1000, {}, &used);
  unsetenv("RINGMASTER_RING_SHM");
  EXPECT_FALSE(used[0]);
  EXPECT_FALSE(used[1]);
}

TEST(RingSharedMemory, CountersCountSlotHeadersAndPayloads) {
  ThreadRing ring(2, shm(true));
  run_ranks(2, [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000)); });
  const WireCounters before0 = ring.transports[0]->counters(),
                     before1 = ring.transports[1]->counters();
  const size_t n = 1 << 20;  // 2 ranks, 1 MiB chunks: 2 chunks per step, 2 steps
  run_ranks(2, [&](int r) {
    RingAllreduce ar(*ring.transports[r], {});
    std::vector<float> x = rank_input(3, r, n);
    ar.sum(x);
  });
  const WireCounters c0 = ring.transports[0]->counters() - before0,
                     c1 = ring.transports[1]->counters() - before1;
  EXPECT_EQ(c0.sent_bytes, c1.received_bytes);
  EXPECT_EQ(c1.sent_bytes, c0.received_bytes);
  EXPECT_EQ(c0.sent_bytes, 4 * sizeof(ShmLink::SlotHeader) + n * sizeof(float));
  EXPECT_EQ(c0.sent_frames, 8u);
}

TEST(RingSharedMemory, ReceiversReadChunksFromTheSendersMemory) {
  // Cross-memory attach (the default): same bits as TCP and as slot copies.
  for (const Compression c : {Compression::kNone, Compression::kFp16}) {
    SCOPED_TRACE(to_string(c));
    AllreduceOptions a;
    a.compression = c;
    a.error_feedback = false;
    const size_t n = 3000017;
    ThreadRing ring(3, shm(true));
    std::vector<std::vector<float>> out(3);
    run_ranks(3, [&](int r) {
      ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
      RingAllreduce ar(*ring.transports[r], a);
      out[r] = rank_input(11, r, n);
      ar.sum(out[r], 5);
      ar.sum(out[r], 6);
    });
    for (int r = 0; r < 3; ++r)
      EXPECT_TRUE(ring.transports[r]->reads_left_neighbours_memory()) << "rank " << r;
    const auto copies =
        ring_sum(std::vector<ZmqRingOptions>(3, shm(true, 16, 1 << 20, false)), n, a);
    const auto tcp = ring_sum(std::vector<ZmqRingOptions>(3, shm(false)), n, a);
    for (int r = 0; r < 3; ++r)
      EXPECT_EQ(std::memcmp(out[r].data(), tcp.data(), n * sizeof(float)), 0) << "rank " << r;
    EXPECT_EQ(std::memcmp(copies.data(), tcp.data(), n * sizeof(float)), 0);
  }
}

TEST(ShmLink, ARevokedDescriptorIsNotRead) {
  auto receiver = ShmLink::create(2, 4096);
  std::string why;
  auto sender = ShmLink::attach(receiver->offer(), why);
  ASSERT_NE(sender, nullptr) << why;
  sender->mark_attached();
  ASSERT_TRUE(receiver->attached());
  ASSERT_TRUE(receiver->probe_peer());  // one process: it may read its own memory
  EXPECT_TRUE(sender->peer_reads_memory());
  std::vector<std::byte> chunk(100000, std::byte{7}), got(chunk.size());
  const auto address = reinterpret_cast<uint64_t>(chunk.data());
  ASSERT_TRUE(receiver->read_remote(address, got));
  EXPECT_EQ(got, chunk);
  sender->revoke();
  EXPECT_FALSE(receiver->read_remote(address, got));
}

TEST(ShmLink, DescriptorsTakeEntriesAndCopiesTakeSlots) {
  auto receiver = ShmLink::create(2, 4096);  // 2 slots, kMinEntries entries
  std::string why;
  auto sender = ShmLink::attach(receiver->offer(), why);
  ASSERT_NE(sender, nullptr) << why;
  sender->mark_attached();
  auto header = [](uint32_t piece, uint64_t remote_address, uint64_t bytes) {
    ShmLink::SlotHeader h;
    h.chunk.piece = piece;
    h.part_bytes = bytes;
    h.remote_address = remote_address;
    return h;
  };
  ShmLink::SlotHeader got;
  std::span<const std::byte> part;
  // Descriptors: as many in flight as there are entries, far more than slots.
  for (uint32_t i = 0; i < ShmLink::kMinEntries; ++i)
    ASSERT_TRUE(sender->put(header(i, 0x1000 + i, 64), {})) << i;
  EXPECT_FALSE(sender->put(header(999, 0x9999, 64), {}));
  for (uint32_t i = 0; i < ShmLink::kMinEntries; ++i) {
    ASSERT_TRUE(receiver->peek(got, part)) << i;
    EXPECT_EQ(got.chunk.piece, i);
    EXPECT_EQ(got.remote_address, 0x1000u + i);
    receiver->release();
  }
  EXPECT_TRUE(sender->all_released());
  // Copies: only as many as there are slots, also between descriptors; each
  // copy's bytes stay intact until it is released.
  const std::vector<std::byte> a(4096, std::byte{1}), b(1000, std::byte{2}), c(7, std::byte{3});
  ASSERT_TRUE(sender->put(header(0, 0, a.size()), a));
  ASSERT_TRUE(sender->put(header(1, 0x1000, 64), {}));
  EXPECT_FALSE(sender->put(header(2, 0, b.size()), b));  // two entries held: no slot is sure
  EXPECT_FALSE(sender->wait_for_space(ShmLink::Clock::now(), false));
  EXPECT_TRUE(sender->wait_for_space(ShmLink::Clock::now(), true));
  ASSERT_TRUE(sender->put(header(2, 0x2000, 64), {}));
  ASSERT_TRUE(receiver->peek(got, part));
  ASSERT_EQ(part.size(), a.size());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), a.begin()));
  receiver->release();
  ASSERT_TRUE(receiver->peek(got, part));
  EXPECT_EQ(got.remote_address, 0x1000u);
  receiver->release();
  ASSERT_TRUE(sender->put(header(3, 0, b.size()), b));  // entries 2 and 3 held now
  EXPECT_FALSE(sender->put(header(4, 0, c.size()), c));
  ASSERT_TRUE(receiver->peek(got, part));
  EXPECT_EQ(got.remote_address, 0x2000u);
  receiver->release();
  ASSERT_TRUE(sender->put(header(4, 0, c.size()), c));
  for (const auto* want : {&b, &c}) {
    ASSERT_TRUE(receiver->peek(got, part));
    ASSERT_EQ(part.size(), want->size());
    EXPECT_TRUE(std::equal(part.begin(), part.end(), want->begin()));
    receiver->release();
  }
  EXPECT_TRUE(sender->all_released());
}

TEST(ShmOffer, OnlyAWellFormedOfferDecodes) {
  ShmOffer o{1234, 7, 99, 8192};
  ShmOffer back;
  const std::string text = o.encode();
  ASSERT_TRUE(ShmOffer::decode(reinterpret_cast<const std::byte*>(text.data()), text.size(), back));
  EXPECT_EQ(back.pid, 1234);
  EXPECT_EQ(back.fd, 7);
  EXPECT_EQ(back.cookie, 99u);
  EXPECT_EQ(back.bytes, 8192u);
  for (const std::string bad : {"", "shm", "shm 1 2 3", "shm 1 2 3 8192 extra", "mhs 1 2 3 8192",
                                "shm -1 2 3 8192", "shm 1 -2 3 8192", "shm 1 2 3 10"}) {
    EXPECT_FALSE(ShmOffer::decode(reinterpret_cast<const std::byte*>(bad.data()), bad.size(), back))
        << bad;
  }
}

TEST(ShmLink, AnOfferForAnotherSegmentIsRefused) {
  auto link = ShmLink::create(2, 4096);
  ShmOffer wrong = link->offer();
  ++wrong.cookie;
  std::string why;
  EXPECT_EQ(ShmLink::attach(wrong, why), nullptr);
  EXPECT_NE(why.find("not the offered segment"), std::string::npos) << why;
  ShmOffer gone = link->offer();
  gone.fd = 100000;
  EXPECT_EQ(ShmLink::attach(gone, why), nullptr);
  EXPECT_NE(why.find("cannot open"), std::string::npos) << why;
  EXPECT_NE(ShmLink::attach(link->offer(), why), nullptr) << why;
}

TEST(ShmLink, TheSenderCannotResizeTheReceiversSegment) {
  auto link = ShmLink::create(2, 4096);
  const ShmOffer o = link->offer();
  const std::string path = "/proc/" + std::to_string(o.pid) + "/fd/" + std::to_string(o.fd);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // as attach() opens it
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(ftruncate(fd, 0), -1) << "a shrunk segment would be a SIGBUS in the receiver";
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(o.bytes) + 4096), -1);
  close(fd);
  std::string why;
  EXPECT_NE(ShmLink::attach(o, why), nullptr) << why;
}

}  // namespace
}  // namespace ringmaster::comm
