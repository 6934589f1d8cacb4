// `ringmaster cancel ID` (see cancel_command.h).
#include "cli/cancel_command.h"

#include "cli/client_options.h"
#include "cli/exit_codes.h"

namespace ringmaster::cli {
namespace {

struct CancelOptions {
  ClientOptions client;
  std::string id;
};

}  // namespace

void add_cancel_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CancelOptions>();
  CLI::App* cmd = app.add_subcommand("cancel", "Cancel a job");
  cmd->add_option("id", o->id, "Job id")->required();
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      const HttpResult r = client.request("POST", job_path(o->id) + "/cancel");
      if (r.status != 200 && r.status != 202) return report_http_error("cancel", r);
      const nlohmann::json j = r.json();
      const std::string state = j.value("state", "?");
      if (r.status == 202)
        std::printf("%s: cancelling (the worker stops after its current step)\n", o->id.c_str());
      else if (state == "CANCELLED")
        std::printf("%s: CANCELLED\n", o->id.c_str());
      else
        std::printf("%s: already %s\n", o->id.c_str(), state.c_str());
      return kExitOk;
    });
  });
}

}  // namespace ringmaster::cli
