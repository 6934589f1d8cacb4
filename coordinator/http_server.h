// A small HTTP/1.1 server on Boost.Beast: keep-alive, a body limit (413
// beyond it), total deadlines for a request's headers and for its body (the
// connection is closed past them, however slowly the bytes trickle in), a cap on connections per
// client address (429), and chunked streaming responses pulled on a timer
// (for `logs?follow=1`). It knows no routes: every request goes to one
// handler function, which must not block for long (it runs on one of the
// server's I/O threads). No TLS; put a proxy in front for that.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/http_request.h"

namespace ringmaster::coordinator {

// A streamed body: each call returns what is new (possibly nothing) and sets
// `done` when the stream is complete. Called on an I/O thread; must not block.
using StreamPull = std::function<std::string(bool& done)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  StreamPull stream;  // set: a chunked body pulled until done
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see port())
  int threads = 2;
  size_t body_limit = 1 << 20;  // bigger bodies get 413
  // A kept-alive connection may wait this long for its next request's first
  // byte; also the bound on each write.
  std::chrono::seconds idle_timeout{60};
  // From a request's first byte, its request line and headers must all have
  // arrived within header_timeout, and then its body within body_timeout:
  // deadlines for the whole, not idle timers that each byte resets, so a
  // client trickling bytes (slowloris) cannot hold a connection for long.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds stream_poll{200};
  std::chrono::seconds stream_max{3600};  // a stream ends after this; clients resume
  int max_connections = 512;              // more get 503 and are closed at once
  int max_connections_per_address = 32;   // more from one client address get 429
};

// Owns its I/O threads and connections. start() and stop() from one thread;
// the handler is called concurrently from the I/O threads.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Binds and starts the I/O threads. Throws std::runtime_error (address in use, ...).
  void start();
  // Closes the listener and every connection, joins the threads. Idempotent.
  void stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// application/problem+json (RFC 9457) with optional invalid_params.
HttpResponse problem(int status, const std::string& title, const std::string& detail,
                     const std::vector<std::pair<std::string, std::string>>& invalid_params = {});

}  // namespace ringmaster::coordinator
