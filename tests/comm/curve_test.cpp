// CURVE on real sockets over 127.0.0.1: key files (written 0600, read back,
// a mismatched or malformed one refused naming the file and line without
// echoing a secret), allowlists (a key may begin with '#'), and a CURVE
// ROUTER behind the ZAP handler: an allowed client is heard with its key as
// the message's user id; a client with an unknown key, one without CURVE
// and one that names the wrong server key are never heard, each refusal
// counted; adding a key to the allowlist file lets its next connection in
// without a restart.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "comm/curve.h"
#include "comm/transport.h"
#include "comm/zap_authenticator.h"
#include "tests/error_of.h"
#include "tests/test_dir.h"

namespace ringmaster::comm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string error_of(const std::function<void()>& f) {
  return testing_support::error_of<TransportError>(f);
}

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("curve"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }
  fs::path dir_;
};

TEST_F(CurveTest, KeyFilesRoundTripAndBadOnesAreNamedWithoutTheirSecrets) {
  const CurveKeypair k = make_curve_keypair();
  EXPECT_TRUE(is_z85_key(k.public_key));
  EXPECT_TRUE(is_z85_key(k.secret_key));
  EXPECT_EQ(curve_public_of(k.secret_key), k.public_key);
  write_curve_keypair(path("w1"), k);
  struct stat st {};
  ASSERT_EQ(::stat(path("w1.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const CurveKeypair back = read_curve_keypair(path("w1.key"));
  EXPECT_EQ(back.public_key, k.public_key);
  EXPECT_EQ(back.secret_key, k.secret_key);
  EXPECT_EQ(read_curve_public_key(path("w1.pub")), k.public_key);
  EXPECT_EQ(read_curve_public_key(path("w1.key")), k.public_key);
  EXPECT_EQ(read_curve_public_key(k.public_key), k.public_key);
  // Another pair's public line with this secret.
  const CurveKeypair other = make_curve_keypair();
  std::ofstream(path("mixed.key"))
      << "public " << other.public_key << "\nsecret " << k.secret_key << "\n";
  std::string e = error_of([&] { read_curve_keypair(path("mixed.key")); });
  EXPECT_NE(e.find("does not belong"), std::string::npos) << e;
  EXPECT_EQ(e.find(k.secret_key), std::string::npos);
  std::ofstream(path("short.key")) << "secret " << k.secret_key.substr(0, 39) << "\n";
  e = error_of([&] { read_curve_keypair(path("short.key")); });
  EXPECT_NE(e.find("short.key:1: the secret key is not 40 Z85 characters"), std::string::npos) << e;
  EXPECT_EQ(e.find(k.secret_key.substr(0, 39)), std::string::npos);
  EXPECT_NE(error_of([&] { read_curve_keypair(path("missing.key")); }), "no error");
}

TEST_F(CurveTest, AllowlistsTakeCommentsAndKeysStartingWithAHash) {
  const std::string a = make_curve_keypair().public_key;
  const std::string hashed = "#" + make_curve_keypair().public_key.substr(1);
  std::ofstream(path("allow")) << "# workers of rack 3\n\n  " << a << "  # w1\n" << hashed << "\n";
  const std::set<std::string> keys = read_curve_allowlist(path("allow"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.count(a));
  EXPECT_TRUE(keys.count(hashed));
  std::ofstream(path("bad")) << a << "\nnot-a-key\n";
  EXPECT_NE(error_of([&] { read_curve_allowlist(path("bad")); }).find("bad:2:"), std::string::npos);
}

// A CURVE ROUTER behind a ZAP handler that checks an allowlist file.
class CurveSocketTest : public CurveTest {
 protected:
  void SetUp() override {
    CurveTest::SetUp();
    server_keys_ = make_curve_keypair();
    allowed_ = make_curve_keypair();
    std::ofstream(path("allow")) << allowed_.public_key << "\n";
    allowlist_ = std::make_unique<CurveAllowlist>(path("allow"));
    zap_ = std::make_unique<ZapAuthenticator>(
        ctx_, [this](const std::string& domain, const std::string& key, const std::string&) {
          return domain == "control" && allowlist_->allows(key);
        });
    SocketOptions o;
    o.curve_secret_key = server_keys_.secret_key;
    o.zap_domain = "control";
    server_ = std::make_unique<Socket>(ctx_, SocketKind::kRouter, o);
    server_->bind("tcp://127.0.0.1:*");
  }
  void TearDown() override {
    clients_.clear();
    server_.reset();
    zap_.reset();
    CurveTest::TearDown();
  }
  // A DEALER named `id` with `keys` (none: plain TCP), connected and sending one frame.
  void client(const std::string& id, const CurveKeypair* keys, const std::string& server_key) {
    SocketOptions o;
    o.identity = id;
    if (keys != nullptr) {
      o.curve_secret_key = keys->secret_key;
      o.curve_public_key = keys->public_key;
      o.curve_server_key = server_key;
    }
    clients_.push_back(std::make_unique<Socket>(ctx_, SocketKind::kDealer, o));
    clients_.back()->connect(server_->endpoint());
    ASSERT_TRUE(clients_.back()->send(Envelope{"", {"hello from " + id}}));
  }
  // Every message the server hears within `limit`.
  std::vector<Envelope> heard(std::chrono::milliseconds limit) {
    std::vector<Envelope> out;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end)
      if (auto env = server_->receive(20ms)) out.push_back(std::move(*env));
    return out;
  }
  uint64_t refused() const {
    const auto c = zap_->counts();
    auto it = c.find("control");
    return it == c.end() ? 0 : it->second.refused;
  }

  Context ctx_;
  CurveKeypair server_keys_, allowed_;
  std::unique_ptr<CurveAllowlist> allowlist_;
  std::unique_ptr<ZapAuthenticator> zap_;
  std::unique_ptr<Socket> server_;
  std::vector<std::unique_ptr<Socket>> clients_;
};

TEST_F(CurveSocketTest, OnlyAnAllowedKeyIsHeardAndItsKeyIsTheUserId) {
  const CurveKeypair stranger = make_curve_keypair();
  client("stranger", &stranger, server_keys_.public_key);
  client("plain", nullptr, "");
  client("wrong-server", &allowed_, make_curve_keypair().public_key);
  client("w1", &allowed_, server_keys_.public_key);
  const std::vector<Envelope> got = heard(1500ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].peer, "w1");
  EXPECT_EQ(got[0].frames.at(0), "hello from w1");
  EXPECT_EQ(got[0].user_id, allowed_.public_key);
  EXPECT_GE(refused(), 1u);  // the stranger, at least once (it retries)
  // The answer reaches the allowed client, encrypted both ways.
  ASSERT_TRUE(server_->send(Envelope{"w1", {"welcome"}}));
  std::optional<Envelope> reply;
  for (int i = 0; i < 100 && !reply; ++i) reply = clients_.back()->receive(20ms);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->frames.at(0), "welcome");
}

TEST_F(CurveSocketTest, AKeyAddedToTheAllowlistGetsInWithoutARestart) {
  const CurveKeypair late = make_curve_keypair();
  client("late", &late, server_keys_.public_key);
  EXPECT_TRUE(heard(800ms).empty());
  const uint64_t before = refused();
  EXPECT_GE(before, 1u);
  // A new file (a rename, as an editor or a config tool writes it).
  std::ofstream(path("allow.new")) << allowed_.public_key << "\n" << late.public_key << "\n";
  fs::rename(path("allow.new"), path("allow"));
  // libzmq does not retry a handshake the ZAP handler refused: a new
  // connection with the same key is let in now.
  client("late-again", &late, server_keys_.public_key);
  const std::vector<Envelope> got = heard(1500ms);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].peer, "late-again");
  EXPECT_EQ(got[0].user_id, late.public_key);
}

}  // namespace
}  // namespace ringmaster::comm
