// HttpServer on Boost.Beast with C++20 coroutines (see http_server.h): one
// coroutine accepts, one per connection reads a request, calls the handler
// and writes the response, until the peer closes, times out, or asks to
// close. Protocol errors get a problem+json answer and the connection ends.
#include "coordinator/http_server.h"

#include "coordinator/beast_request.h"

#include <sys/socket.h>

#include <cerrno>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

namespace ringmaster::coordinator {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

// True when the peer has closed its end: a quiet stream would otherwise only
// notice at its next write, which may never come.
bool peer_closed(tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

template <class Message>
void apply_headers(Message& m, const HttpResponse& resp) {
  m.set(http::field::server, "ringmaster");
  m.set(http::field::content_type, resp.content_type);
  for (const auto& [k, v] : resp.headers) m.set(k, v);
}

}  // namespace

HttpResponse problem(int status, const std::string& title, const std::string& detail,
                     const std::vector<std::pair<std::string, std::string>>& invalid_params) {
  nlohmann::json j = {{"type", "about:blank"}, {"title", title}, {"status", status}};
  if (!detail.empty()) j["detail"] = detail;
  if (!invalid_params.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, reason] : invalid_params)
      list.push_back({{"name", name}, {"reason", reason}});
    j["invalid_params"] = std::move(list);
  }
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  // Declared before the I/O context: destroying it destroys the sessions'
  // frames, whose slots then release their counts here.
  std::mutex per_address_mutex;  // guards per_address and the admission of a connection
  std::map<std::string, int> per_address;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  uint16_t port = 0;

  asio::awaitable<void> write_simple(beast::tcp_stream& stream, const HttpResponse& resp,
                                     unsigned version, bool keep_alive, beast::error_code& ec) {
    http::response<http::string_body> res{static_cast<http::status>(resp.status), version};
    apply_headers(res, resp);
    res.keep_alive(keep_alive);
    res.body() = resp.body;
    res.prepare_payload();
    stream.expires_after(options.idle_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
  }

  asio::awaitable<void> write_stream(beast::tcp_stream& stream, const HttpResponse& resp,
                                     unsigned version, bool keep_alive, beast::error_code& ec) {
    http::response<http::empty_body> res{static_cast<http::status>(resp.status), version};
    apply_headers(res, resp);
    res.keep_alive(keep_alive);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    stream.expires_after(options.idle_timeout);
    co_await http::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    asio::steady_timer timer(stream.get_executor());
    const auto deadline = std::chrono::steady_clock::now() + options.stream_max;
    for (;;) {
      bool done = false;
      const std::string piece = resp.stream(done);
      if (!piece.empty()) {
        stream.expires_after(options.idle_timeout);
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(piece)),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;
      }
      if (done || stopping || std::chrono::steady_clock::now() > deadline) break;
      timer.expires_after(options.stream_poll);
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      if (peer_closed(stream.socket())) {
        ec = asio::error::eof;
        co_return;
      }
    }
    stream.expires_after(options.idle_timeout);
    co_await asio::async_write(stream, http::make_chunk_last(),
                               asio::redirect_error(use_awaitable, ec));
  }

  // After an error answer to a request whose body is still arriving: stop
  // sending, then read and drop what the client sends (bounded in bytes and
  // time) until it closes. Closing with unread data would reset the
  // connection, and the client could lose the answer before reading it
  // (the "lingering close" of nginx and Apache).
  static asio::awaitable<void> drain_before_close(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 64 * 1024> scratch;
    size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));  // for all of it
    while (!ec && drained < (size_t{64} << 20)) {
      drained += co_await stream.async_read_some(asio::buffer(scratch),
                                                 asio::redirect_error(use_awaitable, ec));
    }
  }

  // Counts a connection against the global and the per-address caps while it
  // lives.
  struct ConnectionSlot {
    Impl* server;
    std::string address;
    ConnectionSlot(Impl* s, std::string a) : server(s), address(std::move(a)) {}
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;
    ~ConnectionSlot() { server->release(address); }
  };

  // Empty when admitted; otherwise the answer to refuse with.
  std::optional<HttpResponse> admit(const std::string& address) {
    std::lock_guard lock(per_address_mutex);
    if (connections >= options.max_connections)
      return problem(503, "Service Unavailable",
                     "the server holds its maximum of " + std::to_string(options.max_connections) +
                         " connections");
    int& mine = per_address[address];
    if (mine >= options.max_connections_per_address) {
      if (mine == 0) per_address.erase(address);
      return problem(429, "Too Many Requests",
                     "this address already holds " +
                         std::to_string(options.max_connections_per_address) +
                         " connections, the most one client may");
    }
    ++mine;
    ++connections;
    return std::nullopt;
  }

  void release(const std::string& address) {
    std::lock_guard lock(per_address_mutex);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
    --connections;
  }

  // Answers a connection over the caps and closes it, without waiting: the
  // answer is small enough for an empty socket buffer, and a refused client
  // must hold no coroutine or descriptor here.
  static void refuse_at_once(tcp::socket& socket, const HttpResponse& resp) {
    http::response<http::string_body> res{static_cast<http::status>(resp.status), 11};
    apply_headers(res, resp);
    res.set(http::field::retry_after, "5");
    res.keep_alive(false);
    res.body() = resp.body;
    res.prepare_payload();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    http::serializer<false, http::string_body> sr{res};
    if (!ec) http::write(socket, sr, ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  // Reads one request: waits up to idle_timeout for its first byte, then
  // gives its headers and its body each a total deadline.
  asio::awaitable<void> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser,
                                     beast::error_code& ec) {
    if (buffer.size() == 0) {
      stream.expires_after(options.idle_timeout);
      const size_t n = co_await stream.async_read_some(buffer.prepare(16 * 1024),
                                                       asio::redirect_error(use_awaitable, ec));
      buffer.commit(n);
      if (ec) co_return;
    }
    stream.expires_after(options.header_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(use_awaitable, ec));
    if (ec || parser.is_done()) co_return;
    stream.expires_after(options.body_timeout);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  }

  asio::awaitable<void> session(tcp::socket socket, std::string address) {
    const ConnectionSlot slot(this, std::move(address));
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    beast::error_code ec;
    for (;;) {
      BeastRequestParser parser;
      limit_request_parser(parser, options.body_limit);
      co_await read_request(stream, buffer, parser, ec);
      if (ec == http::error::body_limit) {
        const HttpResponse r = problem(
            413, "Payload Too Large",
            "the request body is larger than " + std::to_string(options.body_limit) + " bytes");
        co_await write_simple(stream, r, 11, false, ec);
        if (!ec) co_await drain_before_close(stream);
        break;
      }
      // A deadline past closes the connection (Beast's stream closes the
      // socket when it expires, so there is no answer to send).
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == beast::error::timeout || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted)
        break;
      if (ec) {
        const HttpResponse r = problem(400, "Bad Request", "malformed HTTP: " + ec.message());
        co_await write_simple(stream, r, 11, false, ec);
        break;
      }
      const auto& req = parser.get();
      const bool keep_alive = req.keep_alive() && !stopping;
      HttpResponse resp;
      try {
        resp = handler(to_http_request(req));
      } catch (const std::exception& e) {
        resp = problem(500, "Internal Server Error", e.what());
      }
      if (resp.stream)
        co_await write_stream(stream, resp, req.version(), keep_alive, ec);
      else
        co_await write_simple(stream, resp, req.version(), keep_alive, ec);
      if (ec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> listen() {
    for (;;) {
      beast::error_code ec;
      // Each connection on a strand of its own: with several I/O threads, a
      // Beast stream's timeout (which closes the socket) must not run beside
      // the stream's other handlers. It did: right after a body deadline, a
      // new client's first send or read sometimes failed at once.
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc),
                                                          asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (stopping || !acceptor.is_open()) co_return;
        continue;  // e.g. too many open files: try the next one
      }
      const tcp::endpoint peer = socket.remote_endpoint(ec);
      if (ec) continue;  // gone already
      std::string address =
          peer.address().is_v6() && peer.address().to_v6().is_v4_mapped()
              ? asio::ip::make_address_v4(asio::ip::v4_mapped_t{}, peer.address().to_v6())
                    .to_string()
              : peer.address().to_string();
      if (const auto refusal = admit(address)) {
        refuse_at_once(socket, *refusal);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      const auto strand = socket.get_executor();
      asio::co_spawn(strand, session(std::move(socket), std::move(address)), asio::detached);
    }
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  Impl& s = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.address, ec);
  if (ec)
    throw std::runtime_error("bad HTTP address \"" + s.options.address + "\": " + ec.message());
  const tcp::endpoint ep(address, s.options.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + s.options.address + ":" +
                             std::to_string(s.options.port) + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.ioc, s.listen(), asio::detached);
  for (int i = 0; i < std::max(1, s.options.threads); ++i)
    s.threads.emplace_back([&s] { s.ioc.run(); });
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  asio::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
  });
  // Sessions waiting on a read hold no state worth finishing; stop the loop.
  s.ioc.stop();
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace ringmaster::coordinator
