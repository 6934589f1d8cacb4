// Parameter server over real ZeroMQ on 127.0.0.1: placement, the fp16 codec,
// BSP equivalence across world sizes and shard counts, the SSP staleness
// bound, fp16 with error feedback, a silent rank failing its peers, and bad
// frames answered while the shard keeps serving. Every wait is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "comm/ps_client.h"
#include "comm/ps_shard.h"
#include "ops/half.h"
#include "ps_test_util.h"
#include "tests/comm/tcp_relay.h"

namespace ringmaster::comm {
namespace {

using namespace std::chrono_literals;
using test::Mlp;
using Clock = std::chrono::steady_clock;

TEST(PsPlan, DeterministicCoversEveryElementAndBalances) {
  std::vector<PsKey> keys = {{"a", 1000}, {"b", 10}, {"c", 333}, {"d", 7}, {"e", 2500}};
  std::vector<PsKey> shuffled = {keys[3], keys[0], keys[4], keys[2], keys[1]};
  for (int shards : {1, 2, 3, 4}) {
    const auto plan = plan_ps_slices(keys, shards, 400);
    const auto again = plan_ps_slices(shuffled, shards, 400);
    ASSERT_EQ(plan.size(), again.size());
    std::map<std::string, std::map<int64_t, int64_t>> pieces;  // tensor -> offset -> numel
    std::vector<int64_t> load(static_cast<size_t>(shards), 0);
    for (size_t i = 0; i < plan.size(); ++i) {
      EXPECT_EQ(plan[i].key, again[i].key);
      EXPECT_EQ(plan[i].shard, again[i].shard);
      EXPECT_LE(plan[i].numel, 400);
      pieces[plan[i].tensor][plan[i].offset] = plan[i].numel;
      load[static_cast<size_t>(plan[i].shard)] += plan[i].numel;
    }
    for (const PsKey& k : keys) {
      int64_t covered = 0;
      for (const auto& [offset, numel] : pieces[k.name]) {
        EXPECT_EQ(offset, covered) << k.name << ": slices are contiguous";
        covered += numel;
      }
      EXPECT_EQ(covered, k.numel) << k.name;
    }
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*hi - *lo, 400) << "LPT keeps shards within one slice of each other";
  }
  EXPECT_THROW(plan_ps_slices({{"a", 3}, {"a", 4}}, 1), ops::Error);
  EXPECT_THROW(plan_ps_slices({{"a", 0}}, 1), ops::Error);
  EXPECT_THROW(plan_ps_slices({{"a", 3}}, 0), ops::Error);
}

TEST(PsFp16, EncodeDecodeWithinHalfPrecisionAndResidualIsTheRoundingError) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> n(0.0f, 1e-4f);
  std::vector<float> x(1000);
  for (float& v : x) v = n(rng);
  x[7] = 3e-3f;  // the largest
  std::vector<uint16_t> h(x.size());
  std::vector<float> r(x.size()), back(x.size());
  const float scale = ps_encode_fp16(x.data(), 1000, h.data(), r.data());
  EXPECT_FLOAT_EQ(scale, 3e-3f / 16384.0f);
  ps_decode_fp16(h.data(), 1000, scale, back.data());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(back[i] - x[i]), 3e-3f * std::ldexp(1.0f, -11)) << i;
    EXPECT_NEAR(r[i], x[i] - back[i], 1e-12f);
  }
  std::vector<float> zeros(4, 0.0f);
  EXPECT_EQ(ps_encode_fp16(zeros.data(), 4, h.data(), nullptr), 1.0f);
}

// Trains the MLP for `steps` with `world` ranks and `shards` shards, global
// batch split evenly; returns rank 0's final weights.
PsTensors train(int world, int shards, int steps, Compression compression, int64_t slice_elems,
                PsMode mode = PsMode::kBsp, int staleness = 0) {
  Context ctx;
  test::Shards servers(ctx, shards, test::sgd_momentum(0.05f, 0.9f));
  const auto batches = test::make_batches(steps, 24, 11);
  PsTensors result;
  test::run_ranks(world, [&](int rank) {
    PsClientOptions o;
    o.job_id = "job-eq";
    o.rank = rank;
    o.world = world;
    o.mode = mode;
    o.staleness = staleness;
    o.compression = compression;
    o.slice_elems = slice_elems;
    o.timeout = 10s;
    ParameterServerClient client(ctx, servers.endpoints, Mlp::keys(), o);
    PsTensors w = Mlp::init(3);
    client.init(rank == 0 ? &w : nullptr);
    client.pull(0, w);
    const int rows = 24 / world;
    for (int s = 0; s < steps; ++s) {
      const auto& b = batches[static_cast<size_t>(s)];
      client.push(s, test::mlp_grad(w, b, rank * rows, (rank + 1) * rows));
      client.pull(s + 1, w);
    }
    client.finish();
    if (rank == 0) result = w;
  });
  return result;
}

// The same 50 steps without a parameter server.
PsTensors train_locally(int steps) {
  PsTensors w = Mlp::init(3);
  const auto batches = test::make_batches(steps, 24, 11);
  PsTensors grads;
  PsJobInfo info;
  PsUpdate update = test::sgd_momentum(0.05f, 0.9f)(info, w);
  for (int s = 0; s < steps; ++s)
    update(s, w, test::mlp_grad(w, batches[static_cast<size_t>(s)], 0, 24));
  return w;
}

TEST(ParameterServerBsp, OneTwoFourWorkersOnOneTwoThreeShardsReachTheSameWeights) {
  const PsTensors local = train_locally(50);
  const PsTensors initial = Mlp::init(3);
  ASSERT_GT(test::max_rel_diff(initial, local), 1e-2) << "the model must actually train";
  for (int shards : {1, 2, 3}) {
    // Slices of 16 elements: fc1.weight (60) and fc2.weight (30) are split,
    // so keys of uneven sizes land on every shard.
    const int64_t slice = shards == 1 ? 0 : 16;
    const PsTensors one = train(1, shards, 50, Compression::kNone, slice);
    EXPECT_LE(test::max_rel_diff(one, local), 1e-6) << shards << " shards, 1 worker";
    for (int world : {2, 4}) {
      const PsTensors w = train(world, shards, 50, Compression::kNone, slice);
      const double d = test::max_rel_diff(w, one);
      std::printf("[ measured ] %d shards, %d workers vs 1: max relative difference %.3g\n", shards,
                  world, d);
      EXPECT_LE(d, 1e-5) << shards << " shards, " << world << " workers";
    }
  }
}

TEST(ParameterServerFp16, CloseToUncompressedTraining) {
  const PsTensors none = train(2, 2, 50, Compression::kNone, 16);
  const PsTensors fp16 = train(2, 2, 50, Compression::kFp16, 16);
  const double d = test::max_rel_diff(fp16, none);
  std::printf("[ measured ] fp16 vs none after 50 steps: max relative difference %.3g\n", d);
  EXPECT_LE(d, 1e-4) << "fp16 with error feedback drifts from f32 by " << d;  // measured 1.3e-5
  EXPECT_GT(d, 0.0) << "fp16 should not be bit-exact";
}

// One rank pushes a stream of gradients of mixed magnitudes through an update
// that just sums them (weights += grad): the sum the shard holds differs from
// the true sum by exactly the client's residual, which error feedback keeps
// below one fp16 rounding of the largest gradient, however many steps run.
TEST(ParameterServerFp16, ErrorFeedbackKeepsTheAccumulatedErrorBounded) {
  Context ctx;
  auto summing = [](const PsJobInfo&, PsTensors&) -> PsUpdate {
    return [](int64_t, PsTensors& w, const PsTensors& g) {
      for (auto& [k, t] : w) {
        float* p = t.data<float>();
        const float* d = g.at(k).data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] += d[i];
      }
    };
  };
  test::Shards servers(ctx, 1, summing);
  PsClientOptions o;
  o.job_id = "job-ef";
  o.compression = Compression::kFp16;
  o.timeout = 10s;
  constexpr int64_t kN = 64;
  ParameterServerClient client(ctx, servers.endpoints, {{"g", kN}}, o);
  PsTensors w{{"g", ops::Tensor::zeros({kN})}};
  client.init(&w);
  std::mt19937_64 rng(9);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<double> exact(kN, 0.0), no_feedback(kN, 0.0);
  constexpr int kSteps = 400;
  for (int s = 0; s < kSteps; ++s) {
    std::vector<float> g(kN);
    for (int64_t i = 0; i < kN; ++i) g[static_cast<size_t>(i)] = n(rng) * (i < 4 ? 1.0f : 1e-3f);
    // What plain fp16 (no residual) would have delivered.
    std::vector<uint16_t> h(kN);
    std::vector<float> back(kN);
    const float scale = ps_encode_fp16(g.data(), kN, h.data(), nullptr);
    ps_decode_fp16(h.data(), kN, scale, back.data());
    for (size_t i = 0; i < g.size(); ++i) {
      exact[i] += g[i];
      no_feedback[i] += back[i];
    }
    client.push(s, {{"g", ops::Tensor::from_vector(g, {kN})}});
  }
  client.pull(kSteps, w);
  const std::vector<float> got = w.at("g").to_vector();
  double err = 0.0, err_plain = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - exact[i]));
    err_plain = std::max(err_plain, std::fabs(no_feedback[i] - exact[i]));
  }
  // Largest |g| is ~4; one fp16 rounding of it is ~4 * 2^-11 = 2e-3. The sum
  // itself is held in f32 on the shard (|sum| ~ 40, ulp 4e-6) over 400 adds.
  std::printf("[ measured ] sum of %d fp16 pushes: max error %.3g with feedback, %.3g without\n",
              kSteps, err, err_plain);
  EXPECT_LE(err, 5e-3) << "accumulated error with error feedback";
  EXPECT_GT(err_plain, 4 * err) << "without feedback the rounding of the small entries piles up";
  EXPECT_LE(client.residual_l1(), kN * 5e-3);
  EXPECT_EQ(client.last_push_bytes(), kN * 2);
  client.finish();
}

// What the client counts (wire_counters.h) against what a TCP relay in front
// of the shard carried, for f32 and fp16 pushes of the same gradient.
TEST(ParameterServerWire, TheClientCountsWhatTheRelayCarriedAndFp16HalvesThePush) {
  Context ctx;
  test::Shards servers(ctx, 1, test::sgd_momentum(0.01f, 0.0f));
  testing::TcpRelay relay(servers.endpoints[0]);
  constexpr int64_t kN = int64_t{1} << 18;  // 1 MiB in f32
  uint64_t pushed[2] = {};
  const Compression kinds[2] = {Compression::kNone, Compression::kFp16};
  for (int k = 0; k < 2; ++k) {
    PsClientOptions o;
    o.job_id = std::string("job-wire-") + to_string(kinds[k]);
    o.compression = kinds[k];
    o.timeout = 10s;
    o.shared_memory = false;  // the relay must carry the tensors (same host otherwise)
    ParameterServerClient client(ctx, {relay.endpoint()}, {{"g", kN}}, o);
    PsTensors w{{"g", ops::Tensor::zeros({kN})}};
    client.init(&w);
    const WireCounters before = client.counters();
    const uint64_t relay_before = relay.total_bytes();
    client.push(0, {{"g", ops::Tensor::full({kN}, 0.5f)}});
    const WireCounters push = client.counters() - before;
    client.pull(1, w);
    const WireCounters c = client.counters() - before;
    pushed[k] = push.sent_bytes;
    // Push and pull each: one request out, one reply back, on one connection
    // (ZMTP framing 2 to 9 bytes per frame; the handshake came before).
    const uint64_t frames = c.sent_frames + c.received_frames;
    uint64_t relayed = relay.total_bytes() - relay_before;
    for (int i = 0; i < 200 && relayed < c.sent_bytes + c.received_bytes + 2 * frames; ++i) {
      std::this_thread::sleep_for(10ms);  // the relay counts after it wrote
      relayed = relay.total_bytes() - relay_before;
    }
    std::printf(
        "[ measured ] %s: push sent %llu bytes; push and pull counted %llu in %llu frames, "
        "the relay carried %llu\n",
        to_string(kinds[k]), static_cast<unsigned long long>(push.sent_bytes),
        static_cast<unsigned long long>(c.sent_bytes + c.received_bytes),
        static_cast<unsigned long long>(frames), static_cast<unsigned long long>(relayed));
    EXPECT_GE(relayed, c.sent_bytes + c.received_bytes + 2 * frames);
    EXPECT_LE(relayed, c.sent_bytes + c.received_bytes + 9 * frames);
    EXPECT_GE(c.received_bytes, static_cast<uint64_t>(kN) * 4);  // the f32 weights pulled
    client.finish();
  }
  EXPECT_EQ(relay.connections(), 2);
  const double ratio = static_cast<double>(pushed[1]) / static_cast<double>(pushed[0]);
  std::printf("[ measured ] fp16 push / f32 push: %.4f\n", ratio);
  EXPECT_GE(ratio, 0.49);
  EXPECT_LE(ratio, 0.52);
}

TEST(ParameterServerSsp, AFastRankRunsAtMostStalenessStepsAheadOfTheSlowest) {
  for (int staleness : {0, 2}) {
    Context ctx;
    test::Shards servers(ctx, 2, test::sgd_momentum(0.01f, 0.0f));
    constexpr int kSteps = 12;
    std::atomic<int64_t> slow_claimed{0};  // steps the slow rank has started pushing
    std::atomic<int64_t> max_lag{-1}, max_server_lag{-1};
    test::run_ranks(2, [&](int rank) {
      PsClientOptions o;
      o.job_id = "job-ssp";
      o.rank = rank;
      o.world = 2;
      o.mode = PsMode::kSsp;
      o.staleness = staleness;
      o.timeout = 10s;
      o.slice_elems = 16;
      ParameterServerClient client(ctx, servers.endpoints, Mlp::keys(), o);
      PsTensors w = Mlp::init(3);
      client.init(rank == 0 ? &w : nullptr);
      const auto batches = test::make_batches(kSteps, 24, 11);
      for (int s = 0; s < kSteps; ++s) {
        client.pull(s, w);
        if (rank == 0) {  // fast: record how far ahead of the slow rank it got
          const int64_t lag = s - slow_claimed.load();
          max_lag = std::max(max_lag.load(), lag);
          max_server_lag = std::max(max_server_lag.load(), s - client.last_pull().min_clock);
        } else {
          std::this_thread::sleep_for(15ms);
        }
        PsTensors g = test::mlp_grad(w, batches[static_cast<size_t>(s)], 0, 24);
        if (rank == 1) slow_claimed = s + 1;  // before the push: never more than the shard saw
        client.push(s, g);
      }
      client.finish();
    });
    EXPECT_LE(max_lag.load(), staleness);
    EXPECT_LE(max_server_lag.load(), staleness);
    EXPECT_EQ(max_server_lag.load(), staleness) << "the fast rank should hit the bound";
  }
}

TEST(ParameterServerFailure, ASilentRankFailsItsPeersNamingItWithinTheTimeout) {
  Context ctx;
  test::Shards servers(ctx, 2, test::sgd_momentum(0.01f, 0.9f));
  constexpr auto kTimeout = 600ms;
  std::atomic<int64_t> died_at_ns{0};
  std::vector<std::string> errors(3);
  std::vector<int> silent(3, -1);
  std::vector<double> seconds_after_death(3, -1.0);
  test::run_ranks(3, [&](int rank) {
    PsClientOptions o;
    o.job_id = "job-kill";
    o.rank = rank;
    o.world = 3;
    o.timeout = kTimeout;
    o.grace = 2s;
    ParameterServerClient client(ctx, servers.endpoints, Mlp::keys(), o);
    PsTensors w = Mlp::init(3);
    client.init(rank == 0 ? &w : nullptr);
    client.pull(0, w);
    const auto batches = test::make_batches(8, 24, 11);
    try {
      for (int s = 0; s < 8; ++s) {
        if (rank == 2 && s == 3) {  // dies mid-step: pulled step 3, never pushes it
          died_at_ns = Clock::now().time_since_epoch().count();
          return;
        }
        client.push(s, test::mlp_grad(w, batches[static_cast<size_t>(s)], rank * 8, rank * 8 + 8));
        client.pull(s + 1, w);
      }
    } catch (const PsError& e) {
      errors[static_cast<size_t>(rank)] = e.what();
      silent[static_cast<size_t>(rank)] = e.silent_rank();
      seconds_after_death[static_cast<size_t>(rank)] =
          std::chrono::duration<double>(Clock::now().time_since_epoch() -
                                        Clock::duration(died_at_ns.load()))
              .count();
    }
  });
  for (int rank : {0, 1}) {
    const auto r = static_cast<size_t>(rank);
    EXPECT_NE(errors[r].find("rank 2 sent nothing"), std::string::npos) << errors[r];
    EXPECT_EQ(silent[r], 2);
    EXPECT_GE(seconds_after_death[r], 0.55);
    EXPECT_LE(seconds_after_death[r], 0.6 + 0.5) << "fails within timeout + margin";
  }
  // A later request of the failed job gets the same reason at once.
  PsClientOptions o;
  o.job_id = "job-kill";
  o.rank = 1;
  o.world = 3;
  o.timeout = kTimeout;
  ParameterServerClient late(ctx, servers.endpoints, Mlp::keys(), o);
  PsTensors w;
  try {
    late.pull(4, w);
    ADD_FAILURE() << "a failed job must refuse pulls";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "job_failed");
    EXPECT_EQ(e.silent_rank(), 2);
  }
}

TEST(ParameterServerFailure, NoShardListeningIsANoReplyErrorAfterTheDeadline) {
  Context ctx;
  Socket probe(ctx, SocketKind::kRouter);
  probe.bind("tcp://127.0.0.1:0");
  const std::string endpoint = probe.endpoint();  // a port nobody answers on
  PsClientOptions o;
  o.timeout = 200ms;
  o.grace = 100ms;
  ParameterServerClient client(ctx, {endpoint}, {{"w", 4}}, o);
  const auto t0 = Clock::now();
  try {
    PsTensors w;
    client.pull(0, w);
    ADD_FAILURE() << "no reply must throw";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "no_reply");
    EXPECT_NE(std::string(e.what()).find(endpoint), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - t0, 2s);
}

// A cancelled run does not wait out timeout + grace for a shard that does
// not answer (a stalled shard, or one waiting on a stalled rank).
TEST(ParameterServerFailure, ACancelledClientGivesUpWaitingForReplies) {
  Context ctx;
  Socket probe(ctx, SocketKind::kRouter);
  probe.bind("tcp://127.0.0.1:0");
  std::atomic<bool> cancel{false};
  PsClientOptions o;
  o.job_id = "job-cancel";
  o.timeout = 120s;  // far beyond the test's own limit: only the cancel can end the wait
  o.cancel = &cancel;
  ParameterServerClient client(ctx, {probe.endpoint()}, {{"w", 4}}, o);
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  try {
    PsTensors w;
    client.pull(0, w);
    ADD_FAILURE() << "a cancelled pull must throw";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "cancelled") << e.what();
    EXPECT_NE(std::string(e.what()).find("job-cancel"), std::string::npos) << e.what();
  }
  canceller.join();
}

TEST(ParameterServerShard, BadFramesGetAnErrorReplyAndTheShardKeepsServing) {
  Context ctx;
  test::Shards servers(ctx, 1, test::sgd_momentum(0.1f, 0.0f));
  // A job to send bad pushes to.
  PsClientOptions o;
  o.job_id = "job-bad";
  o.timeout = 5s;
  ParameterServerClient client(ctx, servers.endpoints, {{"w", 4}}, o);
  PsTensors w{{"w", ops::Tensor::from_vector({1, 2, 3, 4}, {4})}};
  client.init(&w);

  Socket raw(ctx, SocketKind::kDealer);
  raw.connect(servers.endpoints[0]);
  auto push = [](const nlohmann::json& keys, size_t bytes, const std::string& comp = "none") {
    nlohmann::json h = {{"job_id", "job-bad"}, {"rank", 0},           {"rid", 7},
                        {"step", 0},           {"compression", comp}, {"keys", keys}};
    return std::vector<std::string>{"ps_push/1", h.dump(), std::string(bytes, '\0')};
  };
  const nlohmann::json w4 = {{{"name", "w"}, {"numel", 4}}};
  EXPECT_EQ(test::error_code_for(raw, {"\x01\x02\xff"}), "bad_frames");
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/1"}), "bad_frames") << "truncated";
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/9", "{}"}), "bad_version");
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/1", "{not json"}), "bad_header");
  EXPECT_EQ(test::error_code_for(raw, {"ps_push/1", R"({"job_id": "job-bad"})"}), "bad_field");
  EXPECT_EQ(test::error_code_for(raw, push(w4, 15)), "bad_payload") << "truncated payload";
  EXPECT_EQ(test::error_code_for(raw, push(w4, 8, "fp16")), "bad_field") << "fp16 without scale";
  EXPECT_EQ(
      test::error_code_for(raw, push({{{"name", "w"}, {"numel", 4}, {"scale", 0.0}}}, 8, "fp16")),
      "bad_field");
  EXPECT_EQ(test::error_code_for(raw, push({{{"name", "v"}, {"numel", 4}}}, 16)), "bad_keys");
  EXPECT_EQ(test::error_code_for(raw, push({{{"name", "w"}, {"numel", 5}}}, 20)), "bad_keys");
  {
    auto f = push(w4, 16);
    nlohmann::json h = nlohmann::json::parse(f[1]);
    h["step"] = 3;
    f[1] = h.dump();
    EXPECT_EQ(test::error_code_for(raw, f), "bad_step");
    h["job_id"] = "nobody";
    h["step"] = 0;
    f[1] = h.dump();
    EXPECT_EQ(test::error_code_for(raw, f), "unknown_job");
    h["job_id"] = "job-bad";
    h["rank"] = 3;
    f[1] = h.dump();
    EXPECT_EQ(test::error_code_for(raw, f), "bad_field") << "rank outside world";
  }
  EXPECT_EQ(test::error_code_for(raw, {"ps_ok/1", R"({"rid": 1, "version": 0})"}),
            "unexpected_type");
  EXPECT_EQ(test::error_code_for(raw, {"ps_pull/1", R"({"job_id": "job-bad", "rank": 0, "rid": 1,
                                                  "step": 0})",
                                       "extra"}),
            "");  // a pull with a stray frame is still a pull (extras are ignored)
  // A second init with other weights is refused; the same weights are accepted.
  PsTensors other{{"w", ops::Tensor::from_vector({1, 2, 3, 5}, {4})}};
  try {
    client.init(&other);
    ADD_FAILURE() << "a differing init must be refused";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "init_conflict");
  }
  EXPECT_NO_THROW(client.init(&w));
  PsClientOptions lr = o;
  lr.mode = PsMode::kSsp;
  ParameterServerClient conflicting(ctx, servers.endpoints, {{"w", 4}}, lr);
  EXPECT_THROW(conflicting.init(nullptr), PsError);

  // Still serving: a real step goes through.
  client.push(0, {{"w", ops::Tensor::from_vector({1, 1, 1, 1}, {4})}});
  client.pull(1, w);
  EXPECT_FLOAT_EQ(w.at("w").to_vector()[0], 0.9f);
  EXPECT_GE(servers.list[0]->stats().bad_messages, 12u);
  client.finish();
}

TEST(ParameterServerShard, AFrameOverTheSizeLimitDropsOnlyThatPeer) {
  Context ctx;
  PsShardOptions so;
  so.max_message_bytes = 4096;
  test::Shards servers(ctx, 1, test::sgd_momentum(0.1f, 0.0f), so);
  {
    Socket raw(ctx, SocketKind::kDealer);
    raw.connect(servers.endpoints[0]);
    raw.send(Envelope{"", {"ps_pull/1", "{}", std::string(8192, 'x')}});
    EXPECT_FALSE(raw.receive(300ms)) << "ZeroMQ drops the connection, nothing reaches the shard";
  }
  PsClientOptions o;
  o.job_id = "job-small";
  o.timeout = 5s;
  ParameterServerClient client(ctx, servers.endpoints, {{"w", 8}}, o);
  PsTensors w{{"w", ops::Tensor::zeros({8})}};
  EXPECT_NO_THROW(client.init(&w));
  client.finish();
}

TEST(ParameterServerShard, JoinersWaitForTheInitialWeightsAndAShardChecksItsIndex) {
  Context ctx;
  test::Shards servers(ctx, 2, test::sgd_momentum(0.1f, 0.0f));
  std::vector<std::string> swapped = {servers.endpoints[1], servers.endpoints[0]};
  PsClientOptions o;
  o.job_id = "job-join";
  o.world = 2;
  o.timeout = 5s;
  o.slice_elems = 4;
  o.rank = 1;
  ParameterServerClient wrong(ctx, swapped, {{"w", 8}}, o);
  try {
    wrong.init(nullptr);
    ADD_FAILURE() << "a swapped endpoint list must be refused";
  } catch (const PsError& e) {
    EXPECT_EQ(e.code(), "wrong_shard");
  }
  PsTensors w0{{"w", ops::Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {8})}};
  PsTensors w1;
  test::run_ranks(2, [&](int rank) {
    PsClientOptions c = o;
    c.rank = rank;
    ParameterServerClient client(ctx, servers.endpoints, {{"w", 8}}, c);
    if (rank == 0) std::this_thread::sleep_for(200ms);  // rank 1 joins first and waits
    client.init(rank == 0 ? &w0 : nullptr);
    if (rank == 1) client.pull(0, w1);
    client.finish();
  });
  EXPECT_EQ(w1.at("w").to_vector(), w0.at("w").to_vector());
  for (auto& s : servers.list) EXPECT_LE(s->stats().live_jobs, 1u);
}

}  // namespace
}  // namespace ringmaster::comm
