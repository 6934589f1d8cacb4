// ZmqRingTransport failures, over real sockets on 127.0.0.1: a dead or wrong
// peer (or one of another generation) at connect, a rank that closes or stalls mid-collective, a
// foreign connection sending garbage, and a left neighbour (played here with raw libzmq sockets)
// sending truncated, malformed, out-of-step or oversize chunks. Each must be a CommError naming the
// peer, within the timeout plus a small margin; nothing may hang.
#include "comm/zmq_ring_transport.h"

#include <gtest/gtest.h>
#include <zmq.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "comm/ring_allreduce.h"
#include "comm/ring_wire.h"
#include "comm/tcp_stream.h"
#include "tests/comm/ring_harness.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Expects `fn` to throw a CommError whose message contains every string in `needles`.
template <class F>
std::string expect_comm_error(F&& fn, std::vector<std::string> needles) {
  try {
    fn();
  } catch (const CommError& e) {
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "'" << n << "' not in: " << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a CommError: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no CommError";
  return {};
}

TEST(ZmqRingTransport, ConnectToADeadPeerFailsWithinTheTimeout) {
  Context ctx;
  std::string dead;
  {
    Context c2;
    ZmqRingTransport gone;
    dead = gone.listen(c2, "127.0.0.1");  // bound, then closed: nobody listens there
  }
  ZmqRingTransport t;
  const std::string ep = t.listen(ctx, "127.0.0.1");
  const auto t0 = Clock::now();
  const auto msg = expect_comm_error(
      [&] {
        t.connect(0, {ep, dead}, milliseconds(500));
      },
      {"rank 1", dead, "no answer"});
  EXPECT_LT(seconds_since(t0), 0.5 + 1.0) << msg;
  EXPECT_GE(seconds_since(t0), 0.45);
}

TEST(ZmqRingTransport, ALiveButSilentPeerFailsTheHandshake) {
  ThreadRing ring(2);
  // Rank 1 listens but never connects: rank 0 hears no welcome and no hello.
  const auto t0 = Clock::now();
  expect_comm_error([&] { ring.transports[0]->connect(0, ring.endpoints, milliseconds(400)); },
                    {"rank 1", ring.endpoints[1]});
  EXPECT_LT(seconds_since(t0), 1.5);
}

TEST(ZmqRingTransport, MismatchedEndpointListsAreAHandshakeError) {
  ThreadRing ring(3);
  // Rank 2 believes the ranks are in another order.
  const auto errors = run_ranks_collect(3, [&](int r) {
    auto eps = ring.endpoints;
    if (r == 2) std::swap(eps[0], eps[1]);
    ring.transports[r]->connect(r, eps, milliseconds(1000));
  });
  int failed = 0;
  for (auto& e : errors)
    if (e) {
      ++failed;
      EXPECT_NE(what(e).find("handshake"), std::string::npos) << what(e);
    }
  EXPECT_GE(failed, 1);
}

TEST(ZmqRingTransport, ARankOfAnotherGenerationIsRefusedAtTheHandshake) {
  // Rank 1 is of an earlier world (a cluster job's previous attempt).
  Context c0, c1;
  ZmqRingOptions now, earlier;
  now.generation = 2;
  earlier.generation = 1;
  ZmqRingTransport t0(now), t1(earlier);
  const std::vector<std::string> eps = {t0.listen(c0, "127.0.0.1"), t1.listen(c1, "127.0.0.1")};
  std::string e1;
  std::thread late([&] {
    try {
      t1.connect(1, eps, milliseconds(5000));
    } catch (const CommError& e) {
      e1 = e.what();
    }
  });
  // The refusal comes as soon as a hello is read; the deadline only bounds a
  // machine so loaded that neither hello is read in time.
  const std::string e0 = expect_comm_error([&] { t0.connect(0, eps, milliseconds(5000)); }, {});
  late.join();
  // Both refuse. The rank that reads the other's hello first names its
  // generation; the other is named too when the refusing answer reaches it,
  // which on a loaded machine it once did not (rank 0 then said "no answer
  // from right neighbour rank 1" after a deadline of 1 s: neither hello had
  // been read by then).
  EXPECT_FALSE(e0.empty());
  EXPECT_FALSE(e1.empty());
  EXPECT_TRUE(e0.find("generation 1") != std::string::npos ||
              e1.find("generation 2") != std::string::npos)
      << e0 << " || " << e1;
}

TEST(ZmqRingTransport, ARankThatClosesMidCollectiveIsACommErrorNamingIt) {
  const int world = 3;
  ThreadRing ring(world);
  std::vector<double> took(world, 0);
  const auto errors = run_ranks_collect(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000));
    if (r == 2) {  // "dies" while the others are inside the collective
      std::this_thread::sleep_for(milliseconds(200));
      ring.transports[r]->close();
      return;
    }
    RingAllreduce ar(*ring.transports[r], {.chunk_bytes = 4096, .timeout = milliseconds(3000)});
    std::vector<float> x(200000, 1.0f);
    const auto t0 = Clock::now();
    try {
      ar.sum(x);
    } catch (...) {
      took[r] = seconds_since(t0);
      throw;
    }
  });
  for (int r : {0, 1}) {
    ASSERT_TRUE(errors[r]) << "rank " << r;
    EXPECT_NE(what(errors[r]).find("disconnected"), std::string::npos) << what(errors[r]);
    EXPECT_LT(took[r], 3.0 + 1.0);
  }
  // Rank 0 waits on rank 2 (its left neighbour); rank 1 sends to it, unless
  // rank 0 giving up (and closing) reached rank 1 first.
  EXPECT_NE(what(errors[0]).find("left neighbour rank 2 (" + ring.endpoints[2] + ")"),
            std::string::npos)
      << what(errors[0]);
  const bool names_2 = what(errors[1]).find("right neighbour rank 2 (" + ring.endpoints[2] + ")") !=
                       std::string::npos;
  const bool names_0 = what(errors[1]).find("left neighbour rank 0 (" + ring.endpoints[0] + ")") !=
                       std::string::npos;
  EXPECT_TRUE(names_2 || names_0) << what(errors[1]);
}

TEST(ZmqRingTransport, AStalledRankIsACommErrorWithinTheTimeout) {
  const int world = 3;
  ThreadRing ring(world);
  std::vector<double> took(world, 0);
  const auto errors = run_ranks_collect(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000));
    if (r == 1) return;  // connected, alive, never joins the collective
    // Rank 0 waits longer: on a loaded machine with equal timeouts it once
    // gave up on rank 2 first, and rank 2 then named rank 0's abort.
    RingAllreduce ar(*ring.transports[r], {.timeout = milliseconds(r == 2 ? 500 : 1500)});
    std::vector<float> x(3000, 1.0f);
    const auto t0 = Clock::now();
    try {
      ar.sum(x);
    } catch (...) {
      took[r] = seconds_since(t0);
      throw;
    }
  });
  for (int r : {0, 2}) {
    ASSERT_TRUE(errors[r]) << "rank " << r;
    EXPECT_LT(took[r], (r == 2 ? 0.5 : 1.5) + 1.0) << what(errors[r]);
  }
  // Rank 2 waits on rank 1 directly.
  EXPECT_NE(what(errors[2]).find("left neighbour rank 1"), std::string::npos) << what(errors[2]);
  // Later calls fail at once: the ring is broken.
  expect_comm_error([&] { ring.transports[2]->flush(Clock::now() + milliseconds(100)); },
                    {"earlier error"});
}

// A cancelled rank gives up waiting on a neighbour that is alive but never
// joins (a SIGSTOPped process), over each path a chunk may take, instead of
// waiting out a timeout far longer than the test's limit; its neighbour is
// told why.
TEST(ZmqRingTransport, ACancelledRankGivesUpItsCollectiveOnAStalledPeer) {
  struct Path {
    const char* name;
    bool shared_memory, tcp_stream;
  };
  for (const Path path : {Path{"shared memory", true, true}, Path{"tcp stream", false, true},
                          Path{"zeromq", false, false}}) {
    SCOPED_TRACE(path.name);
    std::atomic<bool> cancel{false};
    ThreadRing ring(
        2, {.shared_memory = path.shared_memory, .tcp_stream = path.tcp_stream, .cancel = &cancel});
    std::string told;
    const auto errors = run_ranks_collect(2, [&](int r) {
      ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000));
      if (r == 1) {  // stalls until rank 0 has given up, then joins and hears why
        while (!cancel) std::this_thread::sleep_for(milliseconds(10));
        std::this_thread::sleep_for(milliseconds(1500));
        cancel = false;  // only rank 0's run was cancelled
        RingAllreduce ar(*ring.transports[r], {.timeout = milliseconds(5000)});
        std::vector<float> x(3000, 1.0f);
        told = expect_comm_error([&] { ar.sum(x); }, {"gave up", "cancelled in a collective"});
        return;
      }
      std::thread canceller([&] {
        std::this_thread::sleep_for(milliseconds(300));
        cancel = true;
      });
      RingAllreduce ar(*ring.transports[r], {.timeout = milliseconds(120000)});
      std::vector<float> x(3000, 1.0f);
      expect_comm_error([&] { ar.sum(x); }, {"ring rank 0: cancelled in a collective"});
      canceller.join();
    });
    for (int r : {0, 1}) EXPECT_FALSE(errors[r]) << what(errors[r]);
    EXPECT_FALSE(told.empty());
  }
}

TEST(ZmqRingTransport, ACancelledRankGivesUpTheHandshake) {
  std::atomic<bool> cancel{false};
  ThreadRing ring(2, {.cancel = &cancel});  // rank 1 never connects
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(300));
    cancel = true;
  });
  expect_comm_error([&] { ring.transports[0]->connect(0, ring.endpoints, milliseconds(120000)); },
                    {"cancelled during the handshake"});
  canceller.join();
}

// A raw DEALER on the listening port: garbage before the handshake, and a
// foreign message in the middle of a collective.
struct RawDealer {
  void* ctx = zmq_ctx_new();
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  explicit RawDealer(const std::string& endpoint, const std::string& id = "") {
    const int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (!id.empty()) zmq_setsockopt(s, ZMQ_ROUTING_ID, id.data(), id.size());
    EXPECT_EQ(zmq_connect(s, endpoint.c_str()), 0);
  }
  ~RawDealer() {
    zmq_close(s);
    zmq_ctx_term(ctx);
  }
  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i)
      ASSERT_NE(
          zmq_send(s, frames[i].data(), frames[i].size(), i + 1 < frames.size() ? ZMQ_SNDMORE : 0),
          -1);
  }
};

TEST(ZmqRingTransport, GarbageDuringTheHandshakeNamesTheConnection) {
  ThreadRing ring(2);
  RawDealer garbage(ring.endpoints[1], "intruder");
  garbage.send({"hello?"});
  std::this_thread::sleep_for(milliseconds(100));
  const auto errors = run_ranks_collect(
      2, [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(2000)); });
  ASSERT_TRUE(errors[1]);
  EXPECT_NE(what(errors[1]).find("'intruder' from 127.0.0.1:"), std::string::npos)
      << what(errors[1]);
}

TEST(ZmqRingTransport, AForeignMessageMidCollectiveNamesTheConnection) {
  ThreadRing ring(2);
  run_ranks(2, [&](int r) { ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000)); });
  RawDealer garbage(ring.endpoints[1]);
  garbage.send({std::string(56, 'x'), "payload"});
  std::this_thread::sleep_for(milliseconds(100));
  const auto errors = run_ranks_collect(2, [&](int r) {
    RingAllreduce ar(*ring.transports[r], {.chunk_bytes = 4096, .timeout = milliseconds(2000)});
    std::vector<float> x(100000, 1.0f);
    ar.sum(x);
  });
  ASSERT_TRUE(errors[1]);
  EXPECT_NE(what(errors[1]).find("foreign message from connection"), std::string::npos)
      << what(errors[1]);
  EXPECT_NE(what(errors[1]).find("127.0.0.1:"), std::string::npos) << what(errors[1]);
  ASSERT_TRUE(errors[0]);  // rank 1 broke the ring: rank 0 must not hang either
}

// Rank 0 of a world of 2, played with raw sockets: it handshakes properly
// with the real rank 1, then sends whatever the test wants, through ZeroMQ
// or (offer_stream) over the TCP stream it offers in its hello.
struct FakeLeft {
  void* ctx = zmq_ctx_new();
  void* listener = zmq_socket(ctx, ZMQ_ROUTER);
  void* sender = zmq_socket(ctx, ZMQ_DEALER);
  std::string endpoint;
  std::unique_ptr<TcpStream> stream;

  FakeLeft() {
    const int linger = 0;
    zmq_setsockopt(listener, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sender, ZMQ_LINGER, &linger, sizeof linger);
    const std::string id = wire::identity(0);
    zmq_setsockopt(sender, ZMQ_ROUTING_ID, id.data(), id.size());
    EXPECT_EQ(zmq_bind(listener, "tcp://127.0.0.1:*"), 0);
    char buf[256];
    size_t len = sizeof buf;
    zmq_getsockopt(listener, ZMQ_LAST_ENDPOINT, buf, &len);
    endpoint.assign(buf, len - 1);
  }
  ~FakeLeft() {
    zmq_close(listener);
    zmq_close(sender);
    zmq_ctx_term(ctx);
  }
  // The fake's half of the handshake with the real rank 1 at `right`.
  void handshake(const std::string& right, bool offer_stream = false) {
    const int ms = 5000;
    zmq_setsockopt(listener, ZMQ_RCVTIMEO, &ms, sizeof ms);
    zmq_setsockopt(sender, ZMQ_RCVTIMEO, &ms, sizeof ms);
    ASSERT_EQ(zmq_connect(sender, right.c_str()), 0);
    wire::Header hello;
    hello.kind = static_cast<uint16_t>(wire::Kind::kHello);
    hello.from_rank = 0;
    hello.world = 2;
    hello.to_rank = 1;
    const std::string hf = wire::encode(hello);
    std::unique_ptr<TcpStreamListener> offered;
    if (offer_stream) {
      offered = TcpStreamListener::open(endpoint);
      ASSERT_TRUE(offered);
      const std::string offer = offered->offer().encode();
      ASSERT_NE(zmq_send(sender, hf.data(), hf.size(), ZMQ_SNDMORE), -1);
      ASSERT_NE(zmq_send(sender, "", 0, ZMQ_SNDMORE), -1);  // no host id: no shared memory
      ASSERT_NE(zmq_send(sender, offer.data(), offer.size(), 0), -1);
    } else {
      ASSERT_NE(zmq_send(sender, hf.data(), hf.size(), 0), -1);
    }
    char id[64], hdr[64];
    const int idn = zmq_recv(listener, id, sizeof id, 0);  // rank 1's hello
    ASSERT_GT(idn, 0);
    ASSERT_EQ(zmq_recv(listener, hdr, sizeof hdr, 0), 56);
    wire::Header welcome = hello;
    welcome.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
    const std::string wf = wire::encode(welcome);
    ASSERT_NE(zmq_send(listener, id, static_cast<size_t>(idn), ZMQ_SNDMORE), -1);
    ASSERT_NE(zmq_send(listener, wf.data(), wf.size(), 0), -1);
    ASSERT_EQ(zmq_recv(sender, hdr, sizeof hdr, 0), 56);  // rank 1's welcome
    if (offer_stream) {
      char taken[64];
      const int n = zmq_recv(sender, taken, sizeof taken, 0);
      ASSERT_EQ(std::string(taken, static_cast<size_t>(std::max(n, 0))), kStreamTaken);
      stream = offered->accept(0, Clock::now() + milliseconds(5000));
      ASSERT_TRUE(stream);
    }
  }
  // Raw bytes on the TCP stream (blocking until written, bounded).
  void write_stream(const std::string& bytes) {
    size_t done = 0;
    for (int i = 0; i < 10000 && done < bytes.size(); ++i) {
      const ssize_t n =
          ::send(stream->fd(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n > 0) done += static_cast<size_t>(n);
      if (n <= 0) std::this_thread::sleep_for(milliseconds(1));
    }
    ASSERT_EQ(done, bytes.size());
  }
  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i)
      ASSERT_NE(zmq_send(sender, frames[i].data(), frames[i].size(),
                         i + 1 < frames.size() ? ZMQ_SNDMORE : 0),
                -1);
  }
};

// The chunk a real rank 1 waits for first in the bad-chunk tests, and its
// wire header from rank 0, edited.
const ChunkHeader kFirstChunk{0, 0, 0, 0, Codec::kF32, 4000, 1.0f};
template <class Edit>
std::string first_chunk_header(Edit&& edit) {
  wire::Header h = wire::chunk(0, 2, kFirstChunk);
  edit(h);
  return wire::encode(h);
}
const std::string kGoodHeader = first_chunk_header([](wire::Header&) {});

// A real rank 1 handshakes with a FakeLeft (which offers a TCP stream or
// not); `feed` then plays the left neighbour, and the real rank's first
// receive must be a CommError within `wait` (and a margin) naming rank 0
// and `needle`.
void expect_bad_left_is_named(bool offer_stream, const std::function<void(FakeLeft&)>& feed,
                              const std::string& needle, milliseconds wait) {
  Context ctx;
  FakeLeft fake;
  ZmqRingTransport real({.max_payload_bytes = 65536});
  const std::vector<std::string> eps = {fake.endpoint, real.listen(ctx, "127.0.0.1")};
  std::thread t([&] { fake.handshake(eps[1], offer_stream); });
  real.connect(1, eps, milliseconds(5000));
  t.join();
  feed(fake);
  const auto t0 = Clock::now();
  expect_comm_error(
      [&] {
        real.receive(
            kFirstChunk, [](const ChunkHeader&, std::span<const std::byte>) {},
            Clock::now() + wait);
      },
      {needle, "left neighbour rank 0 (" + fake.endpoint + ")"});
  EXPECT_LT(seconds_since(t0), std::chrono::duration<double>(wait).count() + 1.0);
}

TEST(ZmqRingTransport, BadChunksFromTheLeftNeighbourAreCommErrorsNamingIt) {
  struct Variant {
    std::string name;
    std::vector<std::string> frames;
    std::string needle;
  };
  const std::vector<Variant> variants = {
      {"short header", {std::string(10, 'x')}, "malformed message"},
      {"truncated payload", {kGoodHeader, std::string(100, 'p')}, "truncated"},
      {"wrong step",
       {first_chunk_header([](wire::Header& h) { h.step = 3; }), std::string(4000, 'p')},
       "out-of-step"},
      {"bad magic",
       {first_chunk_header([](wire::Header& h) { h.magic = 7; }), std::string(4000, 'p')},
       "malformed message"},
      {"extra frames", {kGoodHeader, std::string(4000, 'p'), "x"}, "malformed message"},
      {"oversize frame", {kGoodHeader, std::string(70000, 'p')}, "disconnected"},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    expect_bad_left_is_named(
        false, [&](FakeLeft& fake) { fake.send(v.frames); }, v.needle, milliseconds(2000));
  }
}

// The same, over the TCP stream: a bad header or payload, or a stream that
// ends early, is a CommError naming the left neighbour.
TEST(ZmqRingTransport, BadChunksOverTheTcpStreamAreCommErrorsNamingIt) {
  struct Variant {
    std::string name;
    std::string bytes;  // written on the stream, which is then closed (close) or left open
    bool close;
    std::string needle;
  };
  const std::vector<Variant> variants = {
      {"bad magic",
       first_chunk_header([](wire::Header& h) { h.magic = 7; }) + std::string(4000, 'p'), false,
       "malformed message on the TCP stream"},
      {"not a chunk", first_chunk_header([](wire::Header& h) {
         h.kind = static_cast<uint16_t>(wire::Kind::kHello);
       }),
       false, "malformed message on the TCP stream"},
      {"wrong step",
       first_chunk_header([](wire::Header& h) { h.step = 3; }) + std::string(4000, 'p'), false,
       "out-of-step"},
      {"oversize", first_chunk_header([](wire::Header& h) { h.bytes = 70000; }), false,
       "out-of-step"},
      {"truncated payload", kGoodHeader + std::string(100, 'p'), true, "the connection was closed"},
      {"half a header", kGoodHeader.substr(0, 20), true, "disconnected while waiting"},
      {"silent", "", false, "no chunk"},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    expect_bad_left_is_named(
        true,
        [&](FakeLeft& fake) {
          ASSERT_TRUE(fake.stream);
          fake.write_stream(v.bytes);
          if (v.close) fake.stream.reset();
        },
        v.needle, milliseconds(1000));
  }
}

// The stream's listener takes only the connection that shows its cookie:
// strangers that connect first, silent or with a wrong cookie, are closed.
TEST(TcpStream, TheListenerTakesOnlyTheConnectionWithItsCookie) {
  auto listener = TcpStreamListener::open("tcp://127.0.0.1:1");
  ASSERT_TRUE(listener);
  const StreamOffer offer = listener->offer();
  const auto deadline = Clock::now() + milliseconds(5000);
  // A silent stranger: connected, never writes.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(offer.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(silent, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  TcpStream silent_owner(silent, 0);
  StreamOffer wrong = offer;
  wrong.cookie[1] ^= 1;
  std::string why;
  auto stranger = TcpStream::connect("tcp://127.0.0.1:1", wrong, 0, deadline, why);
  ASSERT_TRUE(stranger) << why;
  auto right = TcpStream::connect("tcp://127.0.0.1:1", offer, 0, deadline, why);
  ASSERT_TRUE(right) << why;
  const auto taken = listener->accept(0, deadline);
  ASSERT_TRUE(taken);
  ASSERT_EQ(::send(right->fd(), "R", 1, MSG_NOSIGNAL), 1);
  char c = 0;
  for (int i = 0; i < 500 && ::recv(taken->fd(), &c, 1, MSG_DONTWAIT) != 1; ++i)
    std::this_thread::sleep_for(milliseconds(2));
  EXPECT_EQ(c, 'R');
  // Both strangers were closed: each reads the end of its stream.
  for (const int fd : {silent, stranger->fd()}) {
    char d;
    ssize_t n = -1;
    for (int i = 0; i < 500 && n != 0; ++i) {
      n = ::recv(fd, &d, 1, MSG_DONTWAIT);
      if (n != 0) std::this_thread::sleep_for(milliseconds(2));
    }
    EXPECT_EQ(n, 0) << "fd " << fd;
  }
}

TEST(StreamOffer, OnlyAWellFormedOfferDecodes) {
  StreamOffer o;
  o.port = 4100;
  o.cookie[0] = 0x0123456789abcdefULL;
  o.cookie[1] = 42;
  const std::string text = o.encode();
  StreamOffer back;
  ASSERT_TRUE(
      StreamOffer::decode(reinterpret_cast<const std::byte*>(text.data()), text.size(), back));
  EXPECT_EQ(back.port, 4100);
  EXPECT_EQ(back.cookie[0], o.cookie[0]);
  EXPECT_EQ(back.cookie[1], o.cookie[1]);
  for (const std::string& bad :
       {std::string(""), std::string("tcp"), std::string("tcp 0 0123456789abcdef000000000000002a"),
        std::string("tcp 70000 0123456789abcdef000000000000002a"),
        std::string("tcp 4100 0123456789abcdef00000000000002a"),
        std::string("tcp 4100 0123456789ABCDEF000000000000002a"),
        std::string("shm 4100 0123456789abcdef000000000000002a"),
        std::string("tcp 4100 0123456789abcdef000000000000002a x"), std::string(100, 't')}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(
        StreamOffer::decode(reinterpret_cast<const std::byte*>(bad.data()), bad.size(), back));
  }
}

}  // namespace
}  // namespace ringmaster::comm
