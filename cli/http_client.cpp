// HttpClient on Boost.Beast (see http_client.h). Every operation is an async
// Beast call with a tcp_stream deadline, driven to completion by running the
// client's own io_context, so nothing can block past its timeout.
#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace ringmaster::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

template <class Parser>
HttpResult to_result(const Parser& p) {
  HttpResult r;
  const auto& res = p.get();
  r.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  return r;
}

}  // namespace

nlohmann::json HttpResult::json() const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json() : j;
}

struct HttpClient::Impl {
  std::string host, port, token;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  bool reused = false;

  void run() {
    ioc.restart();
    ioc.run();
  }

  void close() {
    if (stream) {
      beast::error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
    }
    stream.reset();
    buffer.clear();
  }

  std::string where() const { return "http://" + host + ":" + port; }

  void connect() {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto results = resolver.resolve(host, port, ec);
    if (ec) throw ConnectionError("cannot resolve " + host + ": " + ec.message());
    stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(timeout);
    stream->async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      stream.reset();
      throw ConnectionError("cannot connect to " + where() + ": " + ec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    reused = false;
  }

  http::request<http::string_body> make_request(const std::string& method,
                                                const std::string& target,
                                                const std::string& body) const {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::user_agent, "ringmaster-cli");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  // Writes the request and reads the response header into `parser`,
  // reconnecting once when a kept-alive connection was closed under us.
  using Parser = http::response_parser<http::string_body>;
  void send_and_read_header(http::request<http::string_body>& req, std::optional<Parser>& parser,
                            bool whole) {
    for (int attempt = 0;; ++attempt) {
      parser.emplace();
      if (whole)
        parser->body_limit(64u << 20);
      else
        parser->body_limit(boost::none);
      if (!stream) connect();
      const bool was_reused = reused;
      beast::error_code ec;
      stream->expires_after(timeout);
      http::async_write(*stream, req, [&](beast::error_code e, size_t) { ec = e; });
      run();
      if (!ec) {
        stream->expires_after(timeout);
        if (whole)
          http::async_read(*stream, buffer, *parser, [&](beast::error_code e, size_t) { ec = e; });
        else
          http::async_read_header(*stream, buffer, *parser,
                                  [&](beast::error_code e, size_t) { ec = e; });
        run();
      }
      if (!ec) {
        reused = true;
        return;
      }
      close();
      if (was_reused && attempt == 0 && ec != beast::error::timeout) continue;
      throw ConnectionError(ec == beast::error::timeout
                                ? "the coordinator at " + where() + " did not answer within " +
                                      std::to_string(timeout.count() / 1000) + " s"
                                : "connection to " + where() + " failed: " + ec.message());
    }
  }
};

HttpClient::HttpClient(const std::string& base_url, std::string token,
                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), base_url_(base_url) {
  const std::string scheme = "http://";
  if (base_url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("server URL must start with http:// (got \"" + base_url + "\")");
  std::string rest = base_url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest, port = "80";
  if (!rest.empty() && rest[0] == '[') {  // [::1]:8080
    const size_t close = rest.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad server URL " + base_url);
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty()) throw std::invalid_argument("bad server URL " + base_url);
  impl_->host = host;
  impl_->port = port;
  impl_->token = std::move(token);
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() { impl_->close(); }

HttpResult HttpClient::request(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  auto req = impl_->make_request(method, target, body);
  for (const auto& [k, v] : headers) req.set(k, v);
  std::optional<Impl::Parser> parser;
  impl_->send_and_read_header(req, parser, /*whole=*/true);
  HttpResult r = to_result(*parser);
  r.body = parser->get().body();
  if (!parser->get().keep_alive()) impl_->close();
  return r;
}

HttpClient::StreamEnd HttpClient::stream(const std::string& target,
                                         const std::function<void(std::string_view)>& on_data,
                                         std::chrono::milliseconds idle) {
  auto req = impl_->make_request("GET", target, "");
  std::optional<Impl::Parser> holder;
  impl_->send_and_read_header(req, holder, /*whole=*/false);
  Impl::Parser& parser = *holder;
  StreamEnd end;
  end.result = to_result(parser);
  beast::error_code ec;
  if (end.result.status != 200) {
    impl_->stream->expires_after(impl_->timeout);
    http::async_read(*impl_->stream, impl_->buffer, parser,
                     [&](beast::error_code e, size_t) { ec = e; });
    impl_->run();
    if (ec) {
      impl_->close();
      throw ConnectionError("reading the answer from " + impl_->where() + ": " + ec.message());
    }
    end.result.body = parser.get().body();
    end.complete = true;
    if (!parser.get().keep_alive()) impl_->close();
    return end;
  }
  auto on_chunk = [&](std::uint64_t, boost::beast::string_view body, beast::error_code&) {
    on_data(std::string_view(body.data(), body.size()));
    return body.size();
  };
  parser.on_chunk_body(on_chunk);
  while (!parser.is_done()) {
    impl_->stream->expires_after(idle);
    http::async_read_some(*impl_->stream, impl_->buffer, parser,
                          [&](beast::error_code e, size_t) { ec = e; });
    impl_->run();
    if (ec == beast::error::timeout) {
      impl_->close();
      return end;  // not complete: the caller resumes
    }
    if (ec) {
      impl_->close();
      throw ConnectionError("the stream from " + impl_->where() + " broke: " + ec.message());
    }
  }
  if (!parser.chunked() && !parser.get().body().empty()) on_data(parser.get().body());
  end.complete = true;
  if (!parser.get().keep_alive()) impl_->close();
  return end;
}

}  // namespace ringmaster::cli
