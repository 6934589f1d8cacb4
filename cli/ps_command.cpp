// `ringmaster ps` (see ps_command.h). Exit codes: 0 stopped by a signal, 1
// could not bind. Prints one line with the bound endpoint (port 0 picks one),
// then a line per minute with the shard's counters when they changed.
#include "cli/ps_command.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/exit_codes.h"
#include "cli/signals.h"
#include "comm/ps_shard.h"
#include "comm/transport.h"
#include "training/ps_update.h"

namespace ringmaster::cli {
namespace {

struct PsCliOptions {
  std::string bind = "127.0.0.1";
  int port = 5600;
  int shard_index = 0;
  int shards = 1;
  int64_t max_message_mb = 1024;
  int max_jobs = 64;
};

int run_ps(const PsCliOptions& o) {
  install_stop_signals();
  comm::Context ctx;
  comm::PsShardOptions so;
  so.endpoint = "tcp://" + o.bind + ":" + std::to_string(o.port);
  so.shard_index = o.shard_index;
  so.shards = o.shards;
  so.max_message_bytes = o.max_message_mb << 20;
  so.max_jobs = static_cast<size_t>(o.max_jobs);
  comm::ParameterServerShard shard(ctx, training::make_ps_update_factory_from_init(), so);
  try {
    shard.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster ps: cannot start: %s\n", e.what());
    return kExitFailed;
  }
  std::printf("ps: shard %d of %d listening on %s\n", o.shard_index, o.shards,
              shard.endpoint().c_str());
  std::fflush(stdout);
  auto last_report = std::chrono::steady_clock::now();
  comm::PsShardStats reported;
  while (!stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - last_report < std::chrono::minutes(1)) continue;
    last_report = std::chrono::steady_clock::now();
    const comm::PsShardStats s = shard.stats();
    if (s.pushes == reported.pushes && s.bad_messages == reported.bad_messages &&
        s.failed_jobs == reported.failed_jobs)
      continue;
    reported = s;
    std::printf(
        "ps: %zu jobs, %llu pushes, %llu pulls, %llu updates, %llu bad messages, %llu "
        "failed jobs\n",
        s.live_jobs, static_cast<unsigned long long>(s.pushes),
        static_cast<unsigned long long>(s.pulls), static_cast<unsigned long long>(s.updates),
        static_cast<unsigned long long>(s.bad_messages),
        static_cast<unsigned long long>(s.failed_jobs));
    std::fflush(stdout);
  }
  std::printf("ps: stopping\n");
  std::fflush(stdout);
  shard.stop();
  return kExitOk;
}

}  // namespace

void add_ps_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PsCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ps", "Run one parameter-server shard (jobs bring their optimizer in their init)");
  cmd->add_option("--bind", o->bind,
                  "Address to listen on (the protocol is not authenticated: "
                  "keep it on a private network)")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--shard-index", o->shard_index,
                  "This shard's index; clients that place keys otherwise are refused")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--shards", o->shards, "Number of shards the clients spread keys over")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--max-message-mb", o->max_message_mb,
                  "Largest frame accepted (a job's share of this shard), MiB")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}))
      ->capture_default_str();
  cmd->add_option("--max-jobs", o->max_jobs, "Jobs served at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    if (o->shard_index >= o->shards) {
      std::fprintf(stderr, "ringmaster ps: --shard-index must be below --shards\n");
      exit_code = kExitUsage;
      return;
    }
    exit_code = run_ps(*o);
  });
}

}  // namespace ringmaster::cli
