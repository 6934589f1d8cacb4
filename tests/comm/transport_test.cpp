// The transport over real TCP on 127.0.0.1 (ephemeral ports): a ROUTER and
// DEALERs exchange multipart messages by identity; receive honours its
// timeout; sending to an unknown peer fails instead of blocking; a frame over
// ZMQ_MAXMSGSIZE never arrives, and the ROUTER keeps serving others.
#include "comm/transport.h"

#include <gtest/gtest.h>

namespace ringmaster::comm {
namespace {

using std::chrono::milliseconds;

std::optional<Envelope> receive_within(Socket& s, milliseconds total) {
  const auto end = std::chrono::steady_clock::now() + total;
  while (std::chrono::steady_clock::now() < end)
    if (auto e = s.receive(milliseconds(20))) return e;
  return std::nullopt;
}

TEST(Transport, RouterAndDealersTalkByIdentity) {
  Context ctx;
  Socket router(ctx, SocketKind::kRouter);
  router.bind("tcp://127.0.0.1:*");
  const std::string ep = router.endpoint();
  ASSERT_EQ(ep.rfind("tcp://127.0.0.1:", 0), 0u) << ep;

  Socket a(ctx, SocketKind::kDealer, {.identity = "worker-a"});
  Socket b(ctx, SocketKind::kDealer, {.identity = "worker-b"});
  a.connect(ep);
  b.connect(ep);
  ASSERT_TRUE(a.send("", {"ack", {{"job_id", "from-a"}}, {}}));
  ASSERT_TRUE(b.send("", {"ack", {{"job_id", "from-b"}}, {}}));
  std::map<std::string, std::string> got;
  for (int i = 0; i < 2; ++i) {
    auto env = receive_within(router, milliseconds(3000));
    ASSERT_TRUE(env);
    got[env->peer] = decode(env->frames).header["job_id"].get<std::string>();
  }
  EXPECT_EQ(got["worker-a"], "from-a");
  EXPECT_EQ(got["worker-b"], "from-b");

  ASSERT_TRUE(router.send("worker-b", {"cancel", {{"job_id", "j"}}, {}}));
  auto reply = receive_within(b, milliseconds(3000));
  ASSERT_TRUE(reply);
  EXPECT_EQ(decode(reply->frames).type, "cancel");
  EXPECT_FALSE(a.receive(milliseconds(50)));
}

TEST(Transport, ReceiveTimesOutAndUnknownPeersFail) {
  Context ctx;
  Socket router(ctx, SocketKind::kRouter);
  router.bind("tcp://127.0.0.1:*");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(router.receive(milliseconds(100)));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, milliseconds(90));
  EXPECT_LT(waited, milliseconds(2000));
  EXPECT_FALSE(router.send("nobody", {"ack", {{"job_id", "j"}}, {}}));
}

TEST(Transport, BindFailureIsATransportError) {
  Context ctx;
  Socket a(ctx, SocketKind::kRouter), b(ctx, SocketKind::kRouter);
  a.bind("tcp://127.0.0.1:*");
  EXPECT_THROW(b.bind(a.endpoint()), TransportError);
  EXPECT_THROW(b.bind("not-an-endpoint"), TransportError);
}

TEST(Transport, OversizeFrameIsDroppedAndTheRouterCarriesOn) {
  Context ctx;
  Socket router(ctx, SocketKind::kRouter, {.max_frame_bytes = 4096});
  router.bind("tcp://127.0.0.1:*");
  Socket big(ctx, SocketKind::kDealer, {.identity = "big"});
  big.connect(router.endpoint());
  ASSERT_TRUE(big.send(Envelope{"", {"ack/1", std::string(64 * 1024, 'x')}}));
  EXPECT_FALSE(receive_within(router, milliseconds(500)));

  Socket small(ctx, SocketKind::kDealer, {.identity = "small"});
  small.connect(router.endpoint());
  ASSERT_TRUE(small.send("", {"ack", {{"job_id", "j"}}, {}}));
  auto env = receive_within(router, milliseconds(3000));
  ASSERT_TRUE(env);
  EXPECT_EQ(env->peer, "small");
}

TEST(Transport, TooManyFramesAreFlaggedNotStored) {
  Context ctx;
  Socket router(ctx, SocketKind::kRouter);
  router.bind("tcp://127.0.0.1:*");
  Socket d(ctx, SocketKind::kDealer, {.identity = "d"});
  d.connect(router.endpoint());
  Envelope many;
  for (size_t i = 0; i < kMaxFrames + 10; ++i) many.frames.push_back("f");
  ASSERT_TRUE(d.send(many));
  auto env = receive_within(router, milliseconds(3000));
  ASSERT_TRUE(env);
  EXPECT_TRUE(env->overflow);
  EXPECT_EQ(env->frames.size(), kMaxFrames);
  EXPECT_THROW(decode(env->frames, env->overflow), ProtocolError);
}

}  // namespace
}  // namespace ringmaster::comm
