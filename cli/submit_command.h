// `ringmaster submit SPEC.json [--follow] [--parsable]`: sends a job spec to the
// coordinator; with --follow shows its progress bar and ends with its result.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_submit_command(CLI::App& app, int& exit_code);

class HttpClient;
// POSTs the spec file with an Idempotency-Key (so a retry cannot submit
// twice). On success sets *job_id and returns 0; otherwise prints why and
// returns the exit code (2: unreadable file or rejected spec).
int submit_spec_file(HttpClient& client, const std::string& path, std::string* job_id);

}  // namespace ringmaster::cli
