// Server and token resolution, and HTTP error reporting (see client_options.h).
#include "cli/client_options.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/exit_codes.h"

namespace ringmaster::cli {

void add_client_options(CLI::App* cmd, ClientOptions& o) {
  cmd->add_option("--server", o.server,
                  "Coordinator URL (default: RINGMASTER_SERVER, ./runs/cluster/coordinator.json, "
                  "http://127.0.0.1:8080)");
  cmd->add_option("--token", o.token, "Bearer token (default: RINGMASTER_TOKEN)");
  cmd->add_option("--token-file", o.token_file, "Read the bearer token from this file");
}

std::string resolve_server(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("RINGMASTER_SERVER"); env && *env) return env;
  std::ifstream in("runs/cluster/coordinator.json");
  if (in) {
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("http") && j["http"].is_string()) return j["http"];
  }
  return "http://127.0.0.1:8080";
}

std::string resolve_token(const std::string& flag, const std::string& file) {
  if (!flag.empty()) return flag;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read token file " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) throw std::runtime_error("token file " + file + " is empty");
    return t;
  }
  if (const char* env = std::getenv("RINGMASTER_TOKEN"); env && *env) return env;
  return "";
}

int with_client(const ClientOptions& o, const std::function<int(HttpClient&)>& body) {
  std::string token;
  try {
    token = resolve_token(o.token, o.token_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster: %s\n", e.what());
    return kExitUsage;
  }
  const std::string server = resolve_server(o.server);
  try {
    HttpClient client(server, token);
    return body(client);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "ringmaster: %s\n", e.what());
    return kExitUsage;
  } catch (const ConnectionError& e) {
    std::fprintf(stderr,
                 "ringmaster: %s\n(is a coordinator running? `ringmaster up` starts a local "
                 "cluster; --server or RINGMASTER_SERVER points elsewhere)\n",
                 e.what());
    return kExitConnection;
  }
}

int report_http_error(const std::string& command, const HttpResult& r) {
  const nlohmann::json j = r.json();
  std::string title = "HTTP " + std::to_string(r.status), detail;
  if (j.is_object()) {
    if (j.contains("title") && j["title"].is_string()) title = j["title"];
    if (j.contains("detail") && j["detail"].is_string()) detail = j["detail"];
  } else if (!r.body.empty()) {
    detail = r.body.substr(0, 500);
  }
  std::fprintf(stderr, "ringmaster %s: %s%s%s\n", command.c_str(), title.c_str(),
               detail.empty() ? "" : ": ", detail.c_str());
  if (j.is_object() && j.contains("invalid_params") && j["invalid_params"].is_array()) {
    for (const auto& p : j["invalid_params"]) {
      const std::string name = p.value("name", "");
      std::fprintf(stderr, "  %s: %s\n", name.empty() ? "/" : name.c_str(),
                   p.value("reason", "").c_str());
    }
  }
  if (r.status == 401 || r.status == 403) {
    std::fprintf(stderr,
                 "  (pass the coordinator's token with --token, --token-file or "
                 "RINGMASTER_TOKEN)\n");
    return kExitConnection;
  }
  if (r.status == 400 || r.status == 413 || r.status == 415 || r.status == 422) return kExitUsage;
  return kExitFailed;
}

std::string job_path(const std::string& id) {
  std::string out = "/v1/jobs/";
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : id) {
    const bool plain = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace ringmaster::cli
