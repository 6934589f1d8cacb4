// HttpServer against slow and greedy clients on real loopback sockets: a
// request's headers and body each have a total deadline that trickled bytes
// do not extend, a kept-alive connection may still wait longer than that for
// its next request, connections per client address and in all are capped
// (429 and 503 with Retry-After), and a slowloris attack from one address
// (512 connections trickling header lines) leaves every request from another
// address answered. Client addresses are told apart by binding to 127.0.0.2.
#include <poll.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "coordinator/http_server.h"
#include "raw_http.h"

namespace ringmaster::coordinator {
namespace {

using testing_support::RawHttp;
using testing_support::RawResponse;
using Clock = std::chrono::steady_clock;

constexpr const char* kAttacker = "127.0.0.2";

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, [](const HttpRequest& r) {
      HttpResponse resp;
      resp.body = "{\"path\": \"" + r.path + "\"}";
      return resp;
    });
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  uint16_t port() const { return server_->port(); }

  std::unique_ptr<HttpServer> server_;
};

// Sends `line` every `every` until the server closes the connection or
// `limit` passes; returns how long the server kept it open.
Clock::duration trickle_until_closed(RawHttp& c, const std::string& first, const std::string& line,
                                     std::chrono::milliseconds every,
                                     std::chrono::milliseconds limit) {
  const auto start = Clock::now();
  if (!c.send_raw(first)) return Clock::now() - start;
  while (Clock::now() - start < limit) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(every.count())) > 0) {
      char byte;
      if (::recv(c.fd(), &byte, 1, MSG_DONTWAIT) <= 0) break;  // EOF or reset: closed
    }
    if (!c.send_raw(line)) break;
  }
  return Clock::now() - start;
}

TEST_F(HttpServerTest, HeadersTrickledSlowerThanTheDeadlineAreCutOff) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(1000);
  start(o);
  RawHttp c(port());
  // Each line arrives well within any per-byte idle timer; the whole never does.
  const auto held = trickle_until_closed(c, "GET /slow HTTP/1.1\r\n", "X-Slow: y\r\n",
                                         std::chrono::milliseconds(100), std::chrono::seconds(20));
  EXPECT_LT(held, std::chrono::seconds(20)) << "the server never closed a trickling request";
  // It carries on for everyone else.
  RawHttp d(port());
  EXPECT_EQ(d.request("GET", "/after").status, 200);
}

TEST_F(HttpServerTest, ABodyTrickledSlowerThanTheDeadlineIsCutOff) {
  HttpServerOptions o;
  o.body_timeout = std::chrono::milliseconds(1000);
  start(o);
  RawHttp c(port());
  const auto held =
      trickle_until_closed(c, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
                           "0123456789", std::chrono::milliseconds(100), std::chrono::seconds(20));
  EXPECT_LT(held, std::chrono::seconds(20)) << "the server never closed a trickling body";
  RawHttp d(port());
  EXPECT_EQ(d.request("POST", "/after", "{}").status, 200);
}

TEST_F(HttpServerTest, AKeptAliveConnectionMayWaitLongerThanTheHeaderDeadline) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  start(o);
  RawHttp c(port());
  EXPECT_EQ(c.request("GET", "/one").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // four header deadlines
  const RawResponse second = c.request("GET", "/two");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.json()["path"], "/two");
}

TEST_F(HttpServerTest, ConnectionsPerAddressAreCappedAndReleased) {
  HttpServerOptions o;
  o.max_connections_per_address = 2;
  start(o);
  auto a = std::make_unique<RawHttp>(port(), 5000, kAttacker);
  auto b = std::make_unique<RawHttp>(port(), 5000, kAttacker);
  EXPECT_EQ(a->request("GET", "/a").status, 200);  // both admitted and kept alive
  EXPECT_EQ(b->request("GET", "/b").status, 200);
  RawHttp third(port(), 5000, kAttacker);
  const RawResponse refused = third.read_response();
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.header("retry-after"), "5");
  EXPECT_NE(refused.json()["detail"].get<std::string>().find("2 connections"), std::string::npos);
  // Another address is not affected.
  RawHttp other(port());
  EXPECT_EQ(other.request("GET", "/other").status, 200);
  // A closed connection gives its place back (the server notices the close
  // on its next read, so allow it a moment).
  a.reset();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    RawHttp again(port(), 5000, kAttacker);
    try {
      status = again.request("GET", "/again").status;
    } catch (const std::exception&) {
      status = 0;  // refused and reset before the answer was read
    }
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HttpServerTest, ConnectionsInAllAreCappedWith503) {
  HttpServerOptions o;
  o.max_connections = 3;
  start(o);
  std::vector<std::unique_ptr<RawHttp>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawHttp>(port()));
    EXPECT_EQ(held.back()->request("GET", "/held").status, 200);
  }
  RawHttp fourth(port(), 5000, kAttacker);
  const RawResponse refused = fourth.read_response();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("retry-after"), "5");
}

// Raises the soft limit on open files to the hard one: the attack below
// holds 512 sockets in this process.
void allow_many_files() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

TEST_F(HttpServerTest, ASlowlorisFromOneAddressLeavesOtherClientsServed) {
  allow_many_files();
  HttpServerOptions o;
  o.header_timeout = std::chrono::seconds(60);  // the attack outlives the test
  o.max_connections_per_address = 16;
  start(o);
  constexpr int kAttack = 512;
  std::vector<std::unique_ptr<RawHttp>> attack;
  for (int i = 0; i < kAttack; ++i) {
    attack.push_back(std::make_unique<RawHttp>(port(), 5000, kAttacker));
    ASSERT_TRUE(attack.back()->send_raw("GET /attack HTTP/1.1\r\n"));
  }
  // The attack trickles a header line into each connection every 100 ms.
  std::atomic<bool> stop{false};
  std::atomic<int> trickled{0};
  std::thread trickler([&] {
    const auto until = Clock::now() + std::chrono::seconds(120);
    while (!stop && Clock::now() < until) {
      for (auto& c : attack) c->send_raw("X-Slow: y\r\n");
      ++trickled;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // The attack is under way (a bounded wait for its first two rounds)...
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  while (trickled < 2 && Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(trickled.load(), 2) << "the attack never got going";
  // ...and every request from another address, spread over its rounds, is answered.
  constexpr int kRequests = 30;
  int ok = 0;
  Clock::duration worst{};
  for (int i = 0; i < kRequests; ++i) {
    const auto t0 = Clock::now();
    try {
      RawHttp c(port());
      if (c.request("GET", "/healthz").status == 200) ++ok;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "request " << i << " during the attack: " << e.what();
    }
    worst = std::max(worst, Clock::now() - t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  trickler.join();
  EXPECT_EQ(ok, kRequests);
  // Served without waiting for any attacking connection's deadline to free a place.
  EXPECT_LT(worst, o.header_timeout);
  std::printf("slowloris of %d connections: %d of %d requests answered, the slowest in %.1f ms\n",
              kAttack, ok, kRequests, std::chrono::duration<double, std::milli>(worst).count());
  // The server held 16 of the attacking connections; the others were refused.
  int refused = 0;
  for (auto& c : attack) {
    pollfd p{c->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) ++refused;
  }
  EXPECT_EQ(refused, kAttack - 16);
}

}  // namespace
}  // namespace ringmaster::coordinator
