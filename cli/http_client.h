// A blocking HTTP/1.1 client for the coordinator's REST API (Boost.Beast):
// one keep-alive connection, a timeout on every operation, the bearer token
// on every request, and streamed bodies (logs?follow=1) handed over as they
// arrive. Plain http:// only. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::cli {

// Could not connect, or the connection failed or timed out.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  // The body as JSON (null when it is not JSON).
  nlohmann::json json() const;
};

class HttpClient {
 public:
  // base_url: "http://HOST:PORT". Throws std::invalid_argument for anything else.
  HttpClient(const std::string& base_url, std::string token,
             std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends and waits for the whole response. Retries once on a fresh
  // connection when a kept-alive one turns out to be closed. Throws
  // ConnectionError.
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

  // GETs a streamed body, calling on_data with each piece as it arrives.
  // Returns when the body ends (complete = true), or after `idle` without a
  // byte (complete = false; ask again to resume). A non-200 answer is
  // returned whole in `result`. Throws ConnectionError.
  struct StreamEnd {
    HttpResult result;
    bool complete = false;
  };
  StreamEnd stream(const std::string& target, const std::function<void(std::string_view)>& on_data,
                   std::chrono::milliseconds idle);

  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string base_url_;
};

}  // namespace ringmaster::cli
