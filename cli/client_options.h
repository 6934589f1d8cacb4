// What every client subcommand shares: where the coordinator is, the bearer
// token, and turning an HTTP answer into a message and an exit code.
// Resolution order for the server: --server, RINGMASTER_SERVER, the
// coordinator.json a local `ringmaster up` wrote under ./runs/cluster, then
// http://127.0.0.1:8080. For the token: --token, --token-file, RINGMASTER_TOKEN.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/http_client.h"

namespace ringmaster::cli {

struct ClientOptions {
  std::string server;
  std::string token;
  std::string token_file;
};

void add_client_options(CLI::App* cmd, ClientOptions& o);
std::string resolve_server(const std::string& flag);
// Throws std::runtime_error when the token file cannot be read or is empty.
std::string resolve_token(const std::string& flag, const std::string& file);

// Connects per the options and runs `body`; turns ConnectionError and a bad
// token into a message and exit code 3.
int with_client(const ClientOptions& o, const std::function<int(HttpClient&)>& body);

// For a non-2xx answer: prints "ringmaster <cmd>: <title>: <detail>" and each
// invalid parameter on stderr; returns the exit code (2 for 400/413/415/422,
// 3 for 401/403, 1 otherwise).
int report_http_error(const std::string& command, const HttpResult& r);

// "/v1/jobs/" + id, with the id percent-encoded.
std::string job_path(const std::string& id);

}  // namespace ringmaster::cli
