// The ring with CURVE, over real sockets on 127.0.0.1: ranks holding the
// job's keypair (each its own context with a ZAP handler admitting that key
// only, as each worker process has) connect and sum exactly as without
// encryption; a rank with another keypair (so neither side can complete
// the CURVE handshake) leaves every rank failing its handshake within the
// timeout with a CommError instead of hanging.
#include <gtest/gtest.h>

#include "comm/curve.h"
#include "comm/ring_allreduce.h"
#include "comm/zap_authenticator.h"
#include "tests/comm/ring_harness.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;

// A ring whose ranks listen with CURVE: rank r uses keys[r], and its
// context's handler admits `job.public_key` only.
struct CurveRing {
  std::vector<std::unique_ptr<Context>> contexts;
  std::vector<std::unique_ptr<ZapAuthenticator>> zaps;
  std::vector<std::unique_ptr<ZmqRingTransport>> transports;
  std::vector<std::string> endpoints;

  CurveRing(const CurveKeypair& job, const std::vector<CurveKeypair>& keys) {
    for (size_t r = 0; r < keys.size(); ++r) {
      contexts.push_back(std::make_unique<Context>());
      zaps.push_back(std::make_unique<ZapAuthenticator>(
          *contexts.back(), ZapAuthenticator::admit_only("ring", job.public_key)));
      ZmqRingOptions o;
      o.curve_public_key = keys[r].public_key;
      o.curve_secret_key = keys[r].secret_key;
      transports.push_back(std::make_unique<ZmqRingTransport>(o));
      endpoints.push_back(transports.back()->listen(*contexts.back(), "127.0.0.1"));
    }
  }
  ~CurveRing() {
    transports.clear();
    zaps.clear();
  }
  uint64_t refused() const {
    uint64_t n = 0;
    for (const auto& z : zaps)
      for (const auto& [domain, c] : z->counts()) n += c.refused;
    return n;
  }
};

TEST(RingCurve, RanksWithTheJobsKeySumExactly) {
  const CurveKeypair job = make_curve_keypair();
  const int world = 3;
  CurveRing ring(job, std::vector<CurveKeypair>(world, job));
  ThreadRing plain(world);
  std::vector<std::vector<float>> got(world), want(world);
  const size_t n = 100003;
  run_ranks(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
    RingAllreduce ar(*ring.transports[r], AllreduceOptions{});
    got[r] = rank_input(7, r, n);
    ar.sum(got[r], 0);
  });
  run_ranks(world, [&](int r) {
    plain.transports[r]->connect(r, plain.endpoints, milliseconds(10000));
    RingAllreduce ar(*plain.transports[r], AllreduceOptions{});
    want[r] = rank_input(7, r, n);
    ar.sum(want[r], 0);
  });
  for (int r = 0; r < world; ++r) EXPECT_EQ(got[r], want[r]) << "rank " << r;
  EXPECT_EQ(ring.refused(), 0u);
}

TEST(RingCurve, ARankWithAnotherKeyIsRefusedAndNobodyHangs) {
  const CurveKeypair job = make_curve_keypair();
  CurveRing ring(job, {job, make_curve_keypair()});
  const auto start = std::chrono::steady_clock::now();
  const auto errors = run_ranks_collect(
      2, [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(1500)); });
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(errors[r]) << "rank " << r << " joined a ring with a stranger";
    try {
      std::rethrow_exception(errors[r]);
    } catch (const CommError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "rank " << r << ": not a CommError: " << e.what();
    }
  }
  EXPECT_LT(took, 10.0) << "a rank hung past its handshake timeout";
}

}  // namespace
}  // namespace ringmaster::comm
