// Submissions accepted per second over HTTP: one client, one keep-alive
// connection, POST /v1/jobs back to back (issue 3: >= 2,000/s). Starts an
// in-process coordinator on a loopback ephemeral port over a fresh state
// folder (or measures --server), with --durability full (fsync per
// submission) or normal. Run by hand; never part of the test suite.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/http_client.h"
#include "coordinator/coordinator.h"
#include "training/job_spec.h"

int main(int argc, char** argv) {
  namespace rc = ringmaster::coordinator;
  CLI::App app{"submissions per second over HTTP keep-alive, one client"};
  int count = 5000, warmup = 200;
  std::string durability = "full", server, dir = "";
  app.add_option("--count", count)->capture_default_str();
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--durability", durability)
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  app.add_option("--server", server, "measure this coordinator instead of an in-process one");
  app.add_option("--state-dir", dir,
                 "where the in-process coordinator keeps its store (default: a temp folder)");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<rc::Coordinator> coord;
  std::filesystem::path tmp;
  if (server.empty()) {
    tmp = dir.empty() ? std::filesystem::temp_directory_path() /
                            ("rm_bench_submit_" + std::to_string(::getpid()))
                      : std::filesystem::path(dir);
    std::filesystem::remove_all(tmp);
    rc::CoordinatorOptions o;
    o.http_port = 0;
    o.zmq_endpoint = "tcp://127.0.0.1:*";
    o.state_dir = (tmp / "runs" / "cluster").string();
    o.checkpoint_root = (tmp / "runs").string();
    o.durability = durability == "full" ? rc::Durability::kFull : rc::Durability::kNormal;
    o.parse_spec = ringmaster::training::parse_job_spec;
    coord = std::make_unique<rc::Coordinator>(o);
    coord->start();
    server = "http://127.0.0.1:" + std::to_string(coord->http_port());
  }
  ringmaster::cli::HttpClient client(server, "");
  const std::string spec =
      R"({"name": "bench", "data": {"dataset": "digits", "train_limit": 100},
          "train": {"epochs": 1, "batch_size": 50}, "optimizer": {"name": "adam", "lr": 0.001}})";
  auto submit = [&] {
    const auto r = client.request("POST", "/v1/jobs", spec);
    if (r.status != 201) {
      std::fprintf(stderr, "submit failed: %d %s\n", r.status, r.body.c_str());
      std::exit(1);
    }
  };
  for (int i = 0; i < warmup; ++i) submit();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) submit();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d submissions in %.3f s: %.0f submissions/s (%.3f ms each), durability %s, %s\n",
              count, s, count / s, 1000.0 * s / count, durability.c_str(),
              coord ? "in-process coordinator" : server.c_str());
  coord.reset();
  if (!tmp.empty() && dir.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
