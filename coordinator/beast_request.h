// The Beast side of http_request.h, for http_server.cpp and http_request.cpp
// only (it keeps Beast's headers out of everything that includes the server).
#pragma once

#include <boost/beast/http.hpp>

#include "coordinator/http_request.h"

namespace ringmaster::coordinator {

using BeastRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The server's limits on a fresh parser: body_limit bytes of body, and
// kHttpHeaderLimit of request line and headers.
void limit_request_parser(BeastRequestParser& parser, size_t body_limit);

// The parsed request as the handlers see it: path and query percent-decoded,
// header names lower-case.
HttpRequest to_http_request(
    const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace ringmaster::coordinator
