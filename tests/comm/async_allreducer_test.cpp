// AsyncAllreducer over a thread ring on 127.0.0.1: buckets come back reduced,
// in submission order, while the submitting thread keeps computing (they
// finish before it calls wait()); a dead peer fails wait() with a
// CommError, later buckets fail fast, and shutdown never hangs.
#include "comm/async_allreducer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/comm/ring_harness.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;
using Clock = std::chrono::steady_clock;

// Asynchrony shown without a clock race (a sanitizer build or a busy machine
// stretches any time budget): rank 0's submit returns before any other rank
// has submitted (they start once it has), so submit does not wait for the
// reduction; and each caller, never calling wait(), sees all its buckets
// finish (take_timings) while it carries on, so they run in the background.
TEST(AsyncAllreducer, ReducesBucketsInOrderWhileTheCallerComputes) {
  const int world = 3, buckets = 4;
  const size_t n = 300000;
  ThreadRing ring(world);
  std::vector<std::vector<BucketTiming>> timings(world);
  std::vector<std::vector<std::vector<float>>> data(world);
  std::atomic<bool> rank0_submitted{false};
  run_ranks(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
    AsyncAllreducer ar(std::move(ring.transports[r]), {.average = true});
    for (int b = 0; b < buckets; ++b) data[r].push_back(rank_input(51 + b, r, n));
    const auto deadline = Clock::now() + std::chrono::seconds(30);  // bounds both waits
    while (r != 0 && !rank0_submitted && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(1));
    for (int b = 0; b < buckets; ++b) {
      ar.submit(100 + b, data[r][b]);
      if (r == 0) rank0_submitted = true;
    }
    // "Backward" goes on; the buckets finish meanwhile.
    while (timings[r].size() < static_cast<size_t>(buckets) && Clock::now() < deadline) {
      for (const BucketTiming& t : ar.take_timings()) timings[r].push_back(t);
      std::this_thread::sleep_for(milliseconds(2));
    }
    ar.wait_all();
  });
  EXPECT_TRUE(rank0_submitted);
  for (int b = 0; b < buckets; ++b) {
    std::vector<double> ref(n, 0.0);
    for (int r = 0; r < world; ++r) {
      const auto x = rank_input(51 + b, r, n);
      for (size_t i = 0; i < n; ++i) ref[i] += x[i];
    }
    for (size_t i = 0; i < n; i += 997) ASSERT_NEAR(data[1][b][i], ref[i] / world, 1e-5);
  }
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(timings[r].size(), static_cast<size_t>(buckets))
        << "rank " << r << ": buckets finished before wait() was called";
    for (int b = 0; b < buckets; ++b) {
      const auto& t = timings[r][b];
      EXPECT_EQ(t.bucket, static_cast<uint64_t>(100 + b));
      EXPECT_TRUE(t.ok);
      EXPECT_LE(t.submitted, t.started);
      EXPECT_LE(t.started, t.finished);
      if (b > 0) {
        EXPECT_GE(t.started, timings[r][b - 1].finished) << "in order, one at a time";
      }
    }
  }
}

TEST(AsyncAllreducer, ADeadPeerFailsWaitAndLaterBucketsAndShutdownIsPrompt) {
  const int world = 2;
  ThreadRing ring(world);
  run_ranks(world,
            [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000)); });
  ring.transports[1]->close();  // rank 1 dies before joining
  std::vector<float> a(10000, 1.0f), b(10000, 1.0f), c(10000, 1.0f);
  const auto t0 = Clock::now();
  {
    AsyncAllreducer ar(std::move(ring.transports[0]),
                       {.allreduce = {.timeout = milliseconds(1000)}});
    const auto ha = ar.submit(1, a), hb = ar.submit(2, b);
    EXPECT_THROW(ar.wait(ha), CommError);
    EXPECT_THROW(ar.wait(hb), CommError);
    ar.submit(3, c);  // still queued or failing when the destructor runs
  }
  EXPECT_LT(Clock::now() - t0, milliseconds(1000 + 1500));
}

TEST(AsyncAllreducer, ShutdownWithAStalledPeerAndQueuedBucketsDoesNotHang) {
  const int world = 2;
  ThreadRing ring(world);
  run_ranks(world,
            [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000)); });
  std::vector<std::vector<float>> bufs(5, std::vector<float>(1000, 1.0f));
  const auto t0 = Clock::now();
  {
    AsyncAllreducer ar(std::move(ring.transports[0]),
                       {.allreduce = {.timeout = milliseconds(500)}});
    for (int i = 0; i < 5; ++i) ar.submit(i, bufs[i]);
    std::this_thread::sleep_for(milliseconds(50));  // the first bucket is running
  }  // rank 1 is alive but never reduces: the running bucket times out, the rest are cancelled
  EXPECT_LT(Clock::now() - t0, milliseconds(500 + 1500));
}

}  // namespace
}  // namespace ringmaster::comm
