// The transport: ZeroMQ sockets behind four verbs (bind, connect, send,
// receive) and no ZeroMQ type in sight. A ROUTER (coordinator) talks to many
// DEALERs (workers), each known by its routing identity. Every socket sets
// ZMQ_MAXMSGSIZE, so an oversize frame drops the peer instead of our memory.
// Not for tensors yet: frames are copied (zero-copy comes with all-reduce).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm/message.h"
#include "comm/wire_counters.h"

namespace ringmaster::comm {

// An expected transport failure (an address in use, a bad endpoint).
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One ZeroMQ context per process (or per test). Owns its I/O thread; sockets
// must be destroyed before it. Thread-safe.
class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void* raw() const { return ctx_; }

 private:
  void* ctx_;
};

enum class SocketKind { kRouter, kDealer };

struct SocketOptions {
  std::string identity;                      // DEALER: routing id the ROUTER sees (empty: random)
  int64_t max_frame_bytes = kMaxFrameBytes;  // ZMQ_MAXMSGSIZE
  int send_high_water_mark = 1000;           // messages queued per peer before send() fails
  bool immediate = false;  // DEALER: queue only to a live connection, so a send while
                           // disconnected fails instead of piling up stale messages
  int linger_ms = 0;       // how long close waits to flush queued messages
  // CURVE (curve.h): with a secret key the socket is encrypted and
  // authenticated. A server (no curve_server_key) has its handshakes checked
  // by the context's ZAP handler (zap_authenticator.h) under zap_domain,
  // which must be running before the bind (libzmq lets everyone in without
  // one); a client names the server's public key and gives its own pair.
  std::string curve_secret_key;
  std::string curve_public_key;  // client: ours
  std::string curve_server_key;  // client: the server's
  std::string zap_domain;        // server
  // ROUTER: a peer connecting with a routing id already in use takes it
  // over. Off where ids must stay with their first (authenticated) owner.
  bool router_handover = true;
  // ZMTP heartbeats: a peer silent this long is disconnected (0: off), so a
  // dead connection does not hold its routing id.
  int heartbeat_ms = 0;
};

// Frames as they travel, plus the peer's routing identity on a ROUTER
// (empty on a DEALER). `overflow`: the peer sent more than kMaxFrames frames;
// the extras were read and dropped.
struct Envelope {
  std::string peer;
  std::vector<std::string> frames;
  bool overflow = false;
  // The sender's authenticated CURVE public key (Z85), as the ZAP handler
  // named it; empty on a socket without CURVE.
  std::string user_id;
};

// A socket. Not thread-safe: use each from one thread. Never blocks longer
// than the timeout given; send() never blocks.
class Socket {
 public:
  Socket(Context& ctx, SocketKind kind, const SocketOptions& options = {});
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // "tcp://127.0.0.1:5555" (port 0 or "*" picks a free one; see endpoint()).
  // Throws TransportError.
  void bind(const std::string& endpoint);
  void connect(const std::string& endpoint);
  // Queues the frames for sending (to env.peer on a ROUTER). Returns false when
  // the peer is unknown or gone (ROUTER) or its queue is full / there is no
  // connection (DEALER with `immediate`).
  bool send(const Envelope& env);
  bool send(const std::string& peer, const Message& m) { return send(Envelope{peer, encode(m)}); }
  // Waits up to `timeout` for one whole multipart message.
  std::optional<Envelope> receive(std::chrono::milliseconds timeout);
  // The endpoint actually bound, with the port filled in.
  std::string endpoint() const;
  // Every frame this socket sent and received (wire_counters.h).
  const WireCounters& counters() const { return wire_; }

 private:
  void apply_curve(const SocketOptions& options);  // throws TransportError for a bad key

  void* socket_;
  SocketKind kind_;
  WireCounters wire_;
};

// "tcp://HOST:PORT" -> {HOST, PORT} (IPv6 hosts keep their brackets).
struct TcpEndpoint {
  std::string host, port;
};
TcpEndpoint split_tcp_endpoint(const std::string& endpoint);

}  // namespace ringmaster::comm
