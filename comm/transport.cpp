// ZeroMQ sockets behind the four verbs (see transport.h). Options that must
// succeed go through ZMQ_CHECK; bind/connect failures are TransportErrors;
// send failures are a false return, never a block or an abort.
#include "comm/transport.h"

#include <cerrno>

#include "comm/curve.h"
#include "comm/zmq_check.h"

namespace ringmaster::comm {

Context::Context() : ctx_(zmq_ctx_new()) {
  if (ctx_ == nullptr)
    throw TransportError(std::string("zmq_ctx_new: ") + zmq_strerror(zmq_errno()));
}

Context::~Context() {
  // Retried on EINTR only; sockets were closed by their owners.
  while (zmq_ctx_term(ctx_) == -1 && zmq_errno() == EINTR) {
  }
}

Socket::Socket(Context& ctx, SocketKind kind, const SocketOptions& options) : kind_(kind) {
  socket_ = zmq_socket(ctx.raw(), kind == SocketKind::kRouter ? ZMQ_ROUTER : ZMQ_DEALER);
  if (socket_ == nullptr)
    throw TransportError(std::string("zmq_socket: ") + zmq_strerror(zmq_errno()));
  const int linger = options.linger_ms;
  ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger));
  const int64_t max_size = options.max_frame_bytes;
  ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size));
  const int hwm = options.send_high_water_mark;
  ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_SNDHWM, &hwm, sizeof hwm));
  ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_RCVHWM, &hwm, sizeof hwm));
  apply_curve(options);
  if (options.heartbeat_ms > 0) {
    const int ivl = options.heartbeat_ms / 3, timeout = options.heartbeat_ms;
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl));
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout));
  }
  if (kind == SocketKind::kRouter) {
    // Unroutable sends fail (EHOSTUNREACH) instead of vanishing silently, and
    // (with handover) a worker that reconnects with its identity takes it
    // over from its stale pipe.
    const int on = 1, handover = options.router_handover ? 1 : 0;
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_ROUTER_MANDATORY, &on, sizeof on));
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_ROUTER_HANDOVER, &handover, sizeof handover));
  } else {
    if (!options.identity.empty())
      ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_ROUTING_ID, options.identity.data(),
                               options.identity.size()));
    const int immediate = options.immediate ? 1 : 0;
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_IMMEDIATE, &immediate, sizeof immediate));
    const int reconnect_ms = 100, reconnect_max_ms = 1000;
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms));
    ZMQ_CHECK(
        zmq_setsockopt(socket_, ZMQ_RECONNECT_IVL_MAX, &reconnect_max_ms, sizeof reconnect_max_ms));
  }
}

Socket::~Socket() { ZMQ_CHECK(zmq_close(socket_)); }

void Socket::apply_curve(const SocketOptions& o) {
  if (o.curve_secret_key.empty()) return;
  auto set_key = [this](int option, const std::string& key, const char* what) {
    if (!is_z85_key(key)) {
      ZMQ_CHECK(zmq_close(socket_));
      throw TransportError(std::string("CURVE ") + what + " is not 40 Z85 characters");
    }
    ZMQ_CHECK(zmq_setsockopt(socket_, option, key.c_str(), key.size()));
  };
  if (o.curve_server_key.empty()) {
    const int on = 1;
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_CURVE_SERVER, &on, sizeof on));
    set_key(ZMQ_CURVE_SECRETKEY, o.curve_secret_key, "secret key");
    // libzmq 4.3 lets every client in when the context has no ZAP handler
    // (enforcing one is a draft option): the owner must run a
    // ZapAuthenticator on the context before binding.
    ZMQ_CHECK(zmq_setsockopt(socket_, ZMQ_ZAP_DOMAIN, o.zap_domain.data(), o.zap_domain.size()));
  } else {
    set_key(ZMQ_CURVE_SERVERKEY, o.curve_server_key, "server key");
    set_key(ZMQ_CURVE_PUBLICKEY, o.curve_public_key, "public key");
    set_key(ZMQ_CURVE_SECRETKEY, o.curve_secret_key, "secret key");
  }
}

void Socket::bind(const std::string& endpoint) {
  if (zmq_bind(socket_, endpoint.c_str()) == -1)
    throw TransportError("cannot bind " + endpoint + ": " + zmq_strerror(zmq_errno()));
}

void Socket::connect(const std::string& endpoint) {
  if (zmq_connect(socket_, endpoint.c_str()) == -1)
    throw TransportError("cannot connect to " + endpoint + ": " + zmq_strerror(zmq_errno()));
}

std::string Socket::endpoint() const {
  char buf[256];
  size_t len = sizeof buf;
  ZMQ_CHECK(zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, buf, &len));
  return std::string(buf, len > 0 ? len - 1 : 0);
}

bool Socket::send(const Envelope& env) {
  std::vector<const std::string*> parts;
  if (kind_ == SocketKind::kRouter) parts.push_back(&env.peer);
  for (const auto& f : env.frames) parts.push_back(&f);
  for (size_t i = 0; i < parts.size(); ++i) {
    const int flags = ZMQ_DONTWAIT | (i + 1 < parts.size() ? ZMQ_SNDMORE : 0);
    if (zmq_send(socket_, parts[i]->data(), parts[i]->size(), flags) == -1) {
      // Only the first part can fail: ZeroMQ queues a multipart message whole.
      const int e = zmq_errno();
      if (e == EAGAIN || e == EHOSTUNREACH || e == EINTR) return false;
      ZMQ_CHECK(-1);
    }
  }
  // Counted once ZeroMQ took the whole message; a ROUTER's routing id stays here.
  for (size_t i = kind_ == SocketKind::kRouter ? 1 : 0; i < parts.size(); ++i)
    wire_.count_sent(parts[i]->size());
  return true;
}

std::optional<Envelope> Socket::receive(std::chrono::milliseconds timeout) {
  zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
  const int n = zmq_poll(&item, 1, static_cast<long>(timeout.count()));
  if (n == -1) {
    if (zmq_errno() == EINTR) return std::nullopt;
    ZMQ_CHECK(n);
  }
  if (n == 0 || !(item.revents & ZMQ_POLLIN)) return std::nullopt;

  Envelope env;
  bool first = true;
  for (;;) {
    zmq_msg_t part;
    ZMQ_CHECK(zmq_msg_init(&part));
    if (zmq_msg_recv(&part, socket_, ZMQ_DONTWAIT) == -1) {
      const int e = zmq_errno();
      ZMQ_CHECK(zmq_msg_close(&part));
      // A whole message is always ready once its first part is (atomic delivery).
      if (e == EAGAIN || e == EINTR) return std::nullopt;
      ZMQ_CHECK(-1);
    }
    const char* data = static_cast<const char*>(zmq_msg_data(&part));
    const size_t size = zmq_msg_size(&part);
    const bool more = zmq_msg_more(&part) != 0;
    if (!(first && kind_ == SocketKind::kRouter)) wire_.count_received(size);
    // Set on the frames a peer sent (not on the routing id a ROUTER adds).
    if (env.user_id.empty()) {
      if (const char* uid = zmq_msg_gets(&part, "User-Id"); uid != nullptr) env.user_id = uid;
    }
    if (first && kind_ == SocketKind::kRouter) {
      env.peer.assign(data, size);
    } else if (env.frames.size() < kMaxFrames) {
      env.frames.emplace_back(data, size);
    } else {
      env.overflow = true;
    }
    first = false;
    ZMQ_CHECK(zmq_msg_close(&part));
    if (!more) break;
  }
  return env;
}

TcpEndpoint split_tcp_endpoint(const std::string& endpoint) {
  const size_t scheme = endpoint.find("://");
  const std::string rest = scheme == std::string::npos ? endpoint : endpoint.substr(scheme + 3);
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return {rest, ""};
  return {rest.substr(0, colon), rest.substr(colon + 1)};
}

}  // namespace ringmaster::comm
