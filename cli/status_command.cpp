// `ringmaster status ID` (see status_command.h).
#include "cli/status_command.h"

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/job_text.h"

namespace ringmaster::cli {
namespace {

struct StatusOptions {
  ClientOptions client;
  std::string id;
  std::string output = "text";
};

}  // namespace

void add_status_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show one job");
  cmd->add_option("id", o->id, "Job id")->required();
  cmd->add_option("-o,--output", o->output, "text or json")->check(CLI::IsMember({"text", "json"}));
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      const HttpResult r = client.request("GET", job_path(o->id));
      if (r.status != 200) return report_http_error("status", r);
      const nlohmann::json j = r.json();
      if (o->output == "json")
        std::printf("%s\n", j.dump(2).c_str());
      else
        std::printf("%s", job_details(j).c_str());
      return kExitOk;
    });
  });
}

}  // namespace ringmaster::cli
