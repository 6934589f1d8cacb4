// Following a job from the command line: polls the coordinator, shows the
// job's log lines, epoch reports and progress bar (cli/progress_display), and
// ends with one result line when the job does. Used by `submit --follow` and
// `up --submit ... --follow`.
#pragma once

#include <atomic>
#include <cstdio>
#include <string>

#include "cli/http_client.h"

namespace ringmaster::cli {

// Blocks until the job ends, `interrupted` is set, or the coordinator has been
// unreachable for 30 s. Returns the exit code: 0 SUCCEEDED, 1 FAILED or
// CANCELLED (or the job vanished), 3 coordinator lost, 130 interrupted.
int follow_job(HttpClient& client, const std::string& id, std::FILE* out, bool terminal,
               const std::atomic<bool>* interrupted);

// One line for a finished job: "job-3 SUCCEEDED: test accuracy 86.12%, ...".
std::string result_line(const nlohmann::json& job);

}  // namespace ringmaster::cli
