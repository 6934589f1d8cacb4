// parse_http_request: the server's parser on bytes in memory. What the
// handlers see (decoded path and query, lower-case header names), and what
// makes the server answer 400 or 413 instead.
#include "coordinator/http_request.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringmaster::coordinator {
namespace {

TEST(HttpRequestParse, DecodesWhatTheHandlersRead) {
  const std::string bytes =
      "POST /v1/jobs/a%2Fb?state=RUNNING&limit=5&x+y=a+b%21&&=skip HTTP/1.1\r\n"
      "Host: h\r\nX-Thing: V\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\n\r\n";
  const HttpParse p = parse_http_request(bytes, 1 << 20);
  ASSERT_TRUE(p.request.has_value()) << p.error;
  EXPECT_EQ(p.request->method, "POST");
  EXPECT_EQ(p.request->path, "/v1/jobs/a/b");
  EXPECT_EQ(p.request->query, (std::map<std::string, std::string>{
                                  {"state", "RUNNING"}, {"limit", "5"}, {"x y", "a b!"}}));
  EXPECT_EQ(p.request->header("x-thing"), "V");
  EXPECT_EQ(p.request->body, "body");
  EXPECT_EQ(bytes.substr(p.used), "GET / HTTP/1.1\r\n\r\n");  // the next request, untouched
}

TEST(HttpRequestParse, RefusesWhatTheServerRefuses) {
  const HttpParse big =
      parse_http_request("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", 10);
  EXPECT_FALSE(big.request.has_value());
  EXPECT_TRUE(big.body_too_large);
  const HttpParse header = parse_http_request(
      "GET / HTTP/1.1\r\nX: " + std::string(kHttpHeaderLimit, 'a') + "\r\n\r\n", 10);
  EXPECT_FALSE(header.request.has_value());
  EXPECT_NE(header.error, "");
  for (const std::string& bad : std::vector<std::string>{
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "GET / HTTP/9.9\r\n\r\n", std::string("GET /\0 HTTP/1.1\r\n\r\n", 19),
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    const HttpParse p = parse_http_request(bad, 1 << 20);
    EXPECT_FALSE(p.request.has_value()) << bad;
    EXPECT_FALSE(p.error.empty()) << bad;
  }
  EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nHost: h\r\n", 10).error, "incomplete");
  EXPECT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10).error,
            "incomplete");
}

}  // namespace
}  // namespace ringmaster::coordinator
