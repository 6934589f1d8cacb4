// `ringmaster submit` (see submit_command.h).
#include "cli/submit_command.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/follow.h"
#include "cli/signals.h"

namespace ringmaster::cli {
namespace {

struct SubmitOptions {
  ClientOptions client;
  std::string spec;
  bool follow = false;
  bool parsable = false;
};

std::string random_key() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(dist(rd)),
                static_cast<unsigned long long>(dist(rd)));
  return buf;
}

}  // namespace

int submit_spec_file(HttpClient& client, const std::string& path, std::string* job_id) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "ringmaster submit: cannot read %s\n", path.c_str());
    return kExitUsage;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const HttpResult r =
      client.request("POST", "/v1/jobs", ss.str(), {{"Idempotency-Key", random_key()}});
  if (r.status != 201 && r.status != 200) {
    if (r.status == 400)
      std::fprintf(stderr, "ringmaster submit: %s was rejected:\n", path.c_str());
    return report_http_error("submit", r);
  }
  *job_id = r.json().value("id", "");
  return kExitOk;
}

void add_submit_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SubmitOptions>();
  CLI::App* cmd = app.add_subcommand("submit", "Submit a job spec to the coordinator");
  cmd->add_option("spec", o->spec, "Job spec (JSON)")->required();
  cmd->add_flag("--follow,-f", o->follow, "Show the job's progress until it ends");
  cmd->add_flag("--parsable", o->parsable, "Print only the job id");
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      std::string id;
      if (int rc = submit_spec_file(client, o->spec, &id); rc != kExitOk) return rc;
      if (o->parsable)
        std::printf("%s\n", id.c_str());
      else
        std::printf("submitted %s\n", id.c_str());
      std::fflush(stdout);
      if (!o->follow) return kExitOk;
      install_stop_signals();
      return follow_job(client, id, stdout, isatty(fileno(stdout)) != 0, &stop_flag());
    });
  });
}

}  // namespace ringmaster::cli
