// to_http_request and parse_http_request (see http_request.h and
// beast_request.h).
#include "coordinator/http_request.h"

#include <boost/asio/buffer.hpp>
#include <cctype>

#include "coordinator/beast_request.h"

namespace ringmaster::coordinator {

namespace http = boost::beast::http;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

}  // namespace

HttpRequest to_http_request(const http::request<http::string_body>& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  const std::string_view target(req.target().data(), req.target().size());
  const size_t q = target.find('?');
  r.path = percent_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const size_t eq = pair.find('=');
      const std::string key = percent_decode(pair.substr(0, eq), true);
      const std::string value =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
      if (!key.empty()) r.query[key] = value;
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  r.body = req.body();
  return r;
}

void limit_request_parser(BeastRequestParser& parser, size_t body_limit) {
  parser.body_limit(body_limit);
  parser.header_limit(kHttpHeaderLimit);
}

HttpParse parse_http_request(std::string_view bytes, size_t body_limit) {
  HttpParse out;
  BeastRequestParser parser;
  limit_request_parser(parser, body_limit);
  parser.eager(true);
  boost::beast::error_code ec;
  // put() takes what it can each call; a pass that takes nothing wants more.
  while (!parser.is_done() && out.used < bytes.size()) {
    const size_t n =
        parser.put(boost::asio::buffer(bytes.data() + out.used, bytes.size() - out.used), ec);
    out.used += n;
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
    } else if (ec) {
      break;
    }
  }
  if (ec == http::error::body_limit) {
    out.body_too_large = true;
    out.error = "body larger than " + std::to_string(body_limit) + " bytes";
  } else if (ec) {
    out.error = ec.message();
  } else if (!parser.is_done()) {
    out.error = "incomplete";
  } else {
    out.request = to_http_request(parser.get());
  }
  return out;
}

}  // namespace ringmaster::coordinator
