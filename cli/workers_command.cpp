// `ringmaster workers` (see workers_command.h).
#include "cli/workers_command.h"

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/job_text.h"

namespace ringmaster::cli {
namespace {

struct WorkersOptions {
  ClientOptions client;
  std::string output = "table";
};

}  // namespace

void add_workers_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<WorkersOptions>();
  CLI::App* cmd = app.add_subcommand("workers", "List the coordinator's workers");
  cmd->add_option("-o,--output", o->output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      const HttpResult r = client.request("GET", "/v1/workers");
      if (r.status != 200) return report_http_error("workers", r);
      const nlohmann::json j = r.json();
      if (o->output == "json")
        std::printf("%s\n", j.dump(2).c_str());
      else
        std::printf("%s", workers_table(j.value("workers", nlohmann::json::array())).c_str());
      return kExitOk;
    });
  });
}

}  // namespace ringmaster::cli
