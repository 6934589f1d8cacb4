// `ringmaster worker --coordinator tcp://HOST:5555`: runs a worker agent until
// Ctrl-C or SIGTERM (or exits 3 when the coordinator is gone for a minute).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// The worker's default Prometheus port (--metrics-port); docker-compose.yml
// and dashboards/prometheus.yml use it too.
inline constexpr int kDefaultWorkerMetricsPort = 9410;

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_worker_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
