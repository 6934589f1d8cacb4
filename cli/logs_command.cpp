// `ringmaster logs ID [-f]` (see logs_command.h). -f uses the server's
// streamed logs?follow=1 and resumes from the last line it got when a stream
// ends early (idle, or the coordinator restarted).
#include "cli/logs_command.h"

#include <thread>

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/signals.h"

namespace ringmaster::cli {
namespace {

struct LogsOptions {
  ClientOptions client;
  std::string id;
  bool follow = false;
};

}  // namespace

void add_logs_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* cmd = app.add_subcommand("logs", "Print a job's log");
  cmd->add_option("id", o->id, "Job id")->required();
  cmd->add_flag("-f,--follow", o->follow, "Stream new lines until the job ends");
  add_client_options(cmd, o->client);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->client, [&](HttpClient& client) {
      const std::string base = job_path(o->id) + "/logs";
      if (!o->follow) {
        const HttpResult r = client.request("GET", base);
        if (r.status != 200) return report_http_error("logs", r);
        std::fwrite(r.body.data(), 1, r.body.size(), stdout);
        return kExitOk;
      }
      install_stop_signals();
      int64_t lines = 0;
      int failures = 0;
      // Bounded: each round either ends the job's stream, or waits; at most
      // 60 consecutive failed rounds (about 30 s without the coordinator).
      while (!stop_requested()) {
        try {
          const auto end = client.stream(
              base + "?follow=1&since=" + std::to_string(lines),
              [&](std::string_view piece) {
                std::fwrite(piece.data(), 1, piece.size(), stdout);
                std::fflush(stdout);
                for (char c : piece) lines += c == '\n';
              },
              std::chrono::seconds(2));
          failures = 0;
          if (end.result.status != 200) return report_http_error("logs", end.result);
          if (end.complete) {
            // The stream ends with the job, or at the server's time limit.
            const HttpResult job = client.request("GET", job_path(o->id));
            const std::string state = job.json().value("state", "");
            if (state != "PENDING" && state != "RUNNING") return kExitOk;
          }
        } catch (const ConnectionError& e) {
          if (++failures > 60) {
            std::fprintf(stderr, "ringmaster logs: %s\n", e.what());
            return kExitConnection;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
      }
      return kExitInterrupted;
    });
  });
}

}  // namespace ringmaster::cli
