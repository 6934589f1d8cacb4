// The parameter server through shared memory (shards and clients on one
// host): pushes and pulls leave the socket but the results stay bit for bit
// those of the wire; a push that names a segment its rank lacks is refused
// and the shard carries on; a failed exchange drops the client's segments and
// the wire takes over; a shard's cap on segments sends the rest to the wire.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "comm/ps_client.h"
#include "comm/ps_shard.h"
#include "ps_test_util.h"

namespace ringmaster::comm {
namespace {

using namespace std::chrono_literals;

const std::vector<PsKey> kKeys = {{"a", 40000}, {"b", 30001}};

// Rank r's gradient at w: 0.5 (w - t_r), t_r(i) = sin(0.01 i + r).
PsTensors gradient(const PsTensors& w, int rank) {
  PsTensors g;
  for (const PsKey& k : kKeys) {
    std::vector<float> v = w.at(k.name).to_vector();
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = 0.5f * (v[i] - std::sin(0.01f * static_cast<float>(i) + static_cast<float>(rank)));
    g[k.name] = ops::Tensor::from_vector(v, {k.numel});
  }
  return g;
}

// The parameter server's memfds this process holds open (shards' and clients').
int open_ps_memfds() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    n += !ec && target.string().find("memfd:ringmaster-ps") != std::string::npos;
  }
  return n;
}

PsTensors zeros() {
  PsTensors w;
  for (const PsKey& k : kKeys) w[k.name] = ops::Tensor::zeros({k.numel});
  return w;
}

struct TrainingRun {
  PsTensors weights;           // rank 0's after the last pull
  int shm_shards = 0;          // rank 0's
  int64_t push_bytes = 0;      // gradient payload of the last push
  uint64_t push_sent = 0;      // bytes the last push put on the socket
  uint64_t pull_received = 0;  // bytes the last pull took from it
};

// Two ranks, two shards, BSP, 8 steps.
TrainingRun train(Compression compression, bool shared_memory) {
  Context ctx;
  test::Shards servers(ctx, 2, test::sgd_momentum(0.05f, 0.9f));
  TrainingRun run;
  test::run_ranks(2, [&](int rank) {
    PsClientOptions o;
    o.job_id = "job-shm";
    o.rank = rank;
    o.world = 2;
    o.compression = compression;
    o.slice_elems = 20000;  // both keys split over both shards
    o.timeout = 10s;
    o.shared_memory = shared_memory;
    ParameterServerClient client(ctx, servers.endpoints, kKeys, o);
    PsTensors w = zeros();
    client.init(rank == 0 ? &w : nullptr);
    client.pull(0, w);
    WireCounters push, pull;
    for (int s = 0; s < 8; ++s) {
      const WireCounters before = client.counters();
      client.push(s, gradient(w, rank));
      const WireCounters mid = client.counters();
      client.pull(s + 1, w);
      push = mid - before;
      pull = client.counters() - mid;
    }
    if (rank == 0) {
      run.weights = w;
      run.shm_shards = client.shared_memory_shards();
      run.push_bytes = client.last_push_bytes();
      run.push_sent = push.sent_bytes;
      run.pull_received = pull.received_bytes;
    }
    client.finish();
  });
  return run;
}

TEST(ParameterServerSharedMemory, PushesAndPullsLeaveTheSocketAndTrainAsTheWireDoes) {
  for (Compression c : {Compression::kNone, Compression::kFp16}) {
    SCOPED_TRACE(to_string(c));
    const TrainingRun wire = train(c, false), shm = train(c, true);
    std::printf(
        "[ measured ] %s: last push %lld payload bytes; on the socket: wire %llu out / %llu in, "
        "shared memory %llu out / %llu in\n",
        to_string(c), static_cast<long long>(shm.push_bytes),
        static_cast<unsigned long long>(wire.push_sent),
        static_cast<unsigned long long>(wire.pull_received),
        static_cast<unsigned long long>(shm.push_sent),
        static_cast<unsigned long long>(shm.pull_received));
    EXPECT_EQ(wire.shm_shards, 0);
    EXPECT_EQ(shm.shm_shards, 2);
    EXPECT_EQ(shm.push_bytes, wire.push_bytes);
    EXPECT_GE(wire.push_sent, static_cast<uint64_t>(wire.push_bytes));
    EXPECT_GE(wire.pull_received, static_cast<uint64_t>(70001 * 4));
    // Only the headers: the key lists, a few hundred bytes per shard.
    EXPECT_LT(shm.push_sent, 2048u);
    EXPECT_LT(shm.pull_received, 2048u);
    // Two addends per element commute exactly: the sums, so the weights, are equal.
    EXPECT_EQ(test::max_rel_diff(shm.weights, wire.weights), 0.0);
    EXPECT_GT(test::max_rel_diff(zeros(), shm.weights), 0.0) << "it must have trained";
  }
}

TEST(ParameterServerSharedMemory, ARankWithoutASegmentIsRefusedAndAFailedCallFallsBackToTheWire) {
  Context ctx;
  test::Shards servers(ctx, 1, test::sgd_momentum(0.1f, 0.0f));
  PsClientOptions o;
  o.job_id = "job-wire";
  o.timeout = 5s;
  o.shared_memory = false;
  ParameterServerClient wire(ctx, servers.endpoints, {{"w", 4}}, o);
  PsTensors w{{"w", ops::Tensor::from_vector({1, 2, 3, 4}, {4})}};
  wire.init(&w);
  ASSERT_EQ(wire.shared_memory_shards(), 0);

  Socket raw(ctx, SocketKind::kDealer);
  raw.connect(servers.endpoints[0]);
  nlohmann::json h = {{"job_id", "job-wire"},
                      {"rank", 0},
                      {"rid", 7},
                      {"step", 0},
                      {"compression", "none"},
                      {"keys", {{{"name", "w"}, {"numel", 4}}}},
                      {"shm", true}};
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/1", h.dump()}), "no_segment");
  h["shm"] = "yes";
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/1", h.dump()}), "bad_field");
  // The job goes on over the wire.
  wire.push(0, {{"w", ops::Tensor::from_vector({1, 1, 1, 1}, {4})}});
  wire.pull(1, w);
  EXPECT_FLOAT_EQ(w.at("w").to_vector()[0], 0.9f);

  // A client on shared memory whose call fails drops its segment; the wire
  // carries its next calls.
  o.job_id = "job-shm";
  o.shared_memory = true;
  ParameterServerClient shm(ctx, servers.endpoints, {{"w", 4}}, o);
  PsTensors v{{"w", ops::Tensor::from_vector({1, 2, 3, 4}, {4})}};
  shm.init(&v);
  ASSERT_EQ(shm.shared_memory_shards(), 1);
  try {
    shm.push(5, {{"w", ops::Tensor::from_vector({1, 1, 1, 1}, {4})}});
    ADD_FAILURE() << "a push for a later step must be refused";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "bad_step");
  }
  EXPECT_EQ(shm.shared_memory_shards(), 0);
  const WireCounters before = shm.counters();
  shm.push(0, {{"w", ops::Tensor::from_vector({1, 1, 1, 1}, {4})}});
  shm.pull(1, v);
  EXPECT_EQ(v.at("w").to_vector(), (std::vector<float>{0.9f, 1.9f, 2.9f, 3.9f}));
  EXPECT_GE((shm.counters() - before).received_bytes, 16u) << "the weights came by the wire";
  wire.finish();
  shm.finish();
}

TEST(ParameterServerSharedMemory, BeyondTheShardsCapRanksUseTheWireAndAFinishedJobFreesItsOwn) {
  // Also: a shard closes a segment's fd once its client pushes through it.
  Context ctx;
  PsShardOptions so;
  so.max_segments = 1;
  test::Shards servers(ctx, 1, test::sgd_momentum(0.1f, 0.0f), so);
  auto client = [&](const std::string& job) {
    PsClientOptions o;
    o.job_id = job;
    o.timeout = 5s;
    return std::make_unique<ParameterServerClient>(ctx, servers.endpoints,
                                                   std::vector<PsKey>{{"w", 3}}, o);
  };
  auto step = [](ParameterServerClient& c) {
    PsTensors w{{"w", ops::Tensor::from_vector({1, 2, 3}, {3})}};
    c.init(&w);
    c.push(0, {{"w", ops::Tensor::from_vector({1, 1, 1}, {3})}});
    c.pull(1, w);
    EXPECT_EQ(w.at("w").to_vector(), (std::vector<float>{0.9f, 1.9f, 2.9f}));
  };
  auto first = client("job-1"), second = client("job-2");
  PsTensors w{{"w", ops::Tensor::from_vector({1, 2, 3}, {3})}};
  ASSERT_EQ(open_ps_memfds(), 0);
  first->init(&w);
  EXPECT_EQ(open_ps_memfds(), 1) << "the shard keeps the fd until the client has it mapped";
  step(*first);
  EXPECT_EQ(open_ps_memfds(), 0) << "then only the mappings hold the memory";
  step(*second);
  EXPECT_EQ(first->shared_memory_shards(), 1);
  EXPECT_EQ(second->shared_memory_shards(), 0) << "the shard holds one segment at most";
  first->finish();  // its only rank is done: the job and its segment go
  auto third = client("job-3");
  step(*third);
  EXPECT_EQ(third->shared_memory_shards(), 1);
  second->finish();
  third->finish();
}

}  // namespace
}  // namespace ringmaster::comm
