// `ringmaster jobs` (see jobs_command.h): a table, or the API's JSON.
#include "cli/jobs_command.h"

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/job_text.h"

namespace ringmaster::cli {
namespace {

struct JobsOptions {
  ClientOptions client;
  std::string state;
  std::string output = "table";
};

}  // namespace

void add_jobs_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<JobsOptions>();
  CLI::App* cmd = app.add_subcommand("jobs", "List jobs");
  cmd->add_option("--state", o->state, "Only jobs in this state (PENDING, RUNNING, ...)");
  cmd->add_option("-o,--output", o->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      const std::string target = o->state.empty() ? "/v1/jobs" : "/v1/jobs?state=" + o->state;
      const HttpResult r = client.request("GET", target);
      if (r.status != 200) return report_http_error("jobs", r);
      const nlohmann::json j = r.json();
      if (o->output == "json") {
        std::printf("%s\n", j.dump(2).c_str());
        return kExitOk;
      }
      std::printf("%s", jobs_table(j.value("jobs", nlohmann::json::array())).c_str());
      return kExitOk;
    });
  });
}

}  // namespace ringmaster::cli
