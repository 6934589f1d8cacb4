// An HTTP request as the handlers see it, and the parser that makes one:
// Boost.Beast's, with the server's limits. The server reads from a socket
// with it (http_server.cpp); parse_http_request runs the same parser on bytes
// in memory, for tests and the fuzzer (fuzz/fuzz_http.cpp).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ringmaster::coordinator {

struct HttpRequest {
  std::string method;                        // "GET"
  std::string path;                          // "/v1/jobs/job-1", percent-decoded, without the query
  std::map<std::string, std::string> query;  // percent-decoded
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string header(const std::string& lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? "" : it->second;
  }
};

// A request's line and header fields together may hold this many bytes.
inline constexpr size_t kHttpHeaderLimit = 16 * 1024;

struct HttpParse {
  std::optional<HttpRequest> request;  // set: a whole request was read
  bool body_too_large = false;         // the server answers 413
  std::string error;                   // otherwise why not: Beast's message, or "incomplete"
  size_t used = 0;                     // bytes of the input that made the request
};

// The first request in `bytes`, parsed as the server parses one from a socket.
HttpParse parse_http_request(std::string_view bytes, size_t body_limit);

}  // namespace ringmaster::coordinator
