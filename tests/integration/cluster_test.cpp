// The cluster as a user runs it, real `ringmaster` processes on loopback: a
// coordinator and two workers run jobs on real digits (one followed to
// SUCCEEDED, one cancelled), the coordinator is SIGKILLed with jobs queued and
// running and restarted with nothing lost; `ringmaster up` (a followed job,
// Ctrl-C, processes killed and started again); the CLI's exit codes.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "cluster_fixture.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::Process;
using testing_support::RawHttp;

using testing_support::ClusterTest;
using testing_support::digits;

TEST_F(ClusterTest, ADataParallelJobRunsOnTwoWorkersAndFailsWhenOneDies) {
  start_coordinator();
  start_worker("w1");
  start_worker("w2");
  wait_for_alive_workers(2);
  auto dp_spec = [&](const std::string& name, int epochs, int train_limit) {
    const nlohmann::json j = {{"name", name},
                              {"model", {{"name", "mlp"}, {"hidden", {64}}}},
                              {"data",
                               {{"dataset", "digits"},
                                {"path", digits()},
                                {"train_limit", train_limit},
                                {"test_limit", 100}}},
                              {"train", {{"epochs", epochs}, {"batch_size", 20}}},
                              {"resources", {{"workers", 2}}},
                              {"sync", {{"bucket_mb", 0.01}, {"timeout_s", 10}}}};
    const std::string p = path(name + ".json");
    std::ofstream(p) << j.dump(2);
    return p;
  };

  // 1. A gang of two: both ranks train, rank 0 reports the result.
  auto [rc, out] = cli({"submit", dp_spec("pair", 2, 400), "--follow"}, "follow-dp.log");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("data-parallel: rank 0 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1: data-parallel: rank 1 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("SUCCEEDED"), std::string::npos) << out;
  const nlohmann::json job = api("/v1/jobs/job-1");
  EXPECT_EQ(job["placement"].size(), 2u) << job.dump();
  EXPECT_EQ(job["result"]["world_size"], 2) << job.dump();
  EXPECT_EQ(job["result"]["sync"]["steps"], 40) << job.dump();  // 2 epochs of 400 / 20

  // 1b. The same through parameter-server shards the coordinator hosts.
  {
    nlohmann::json ps = nlohmann::json::parse(testing_support::slurp(dp_spec("viaps", 1, 400)));
    ps["sync"] = {{"mode", "ps"}, {"shards", 2}, {"timeout_s", 10}};
    std::ofstream(path("viaps.json")) << ps.dump(2);
    auto [prc, pout] = cli({"submit", path("viaps.json"), "--follow"}, "follow-ps.log");
    EXPECT_EQ(prc, 0) << pout;
    EXPECT_NE(pout.find("parameter server (2 shard(s), BSP)"), std::string::npos) << pout;
    // The workers and the coordinator's shards share this host: shared memory.
    EXPECT_NE(pout.find("tensors through shared memory (2 of 2 shards)"), std::string::npos)
        << pout;
    const nlohmann::json v = api("/v1/jobs/job-2");
    EXPECT_EQ(v["state"], "SUCCEEDED") << v.dump();
    EXPECT_EQ(v["result"]["sync"]["mode"], "ps") << v.dump();
    EXPECT_EQ(v["result"]["sync"]["steps"], 20) << v.dump();
  }

  // 2. A long one that may not restart; SIGKILL one of its workers
  //    mid-training: the job fails, naming what happened, within the
  //    heartbeat and ring timeouts.
  {
    nlohmann::json d =
        nlohmann::json::parse(testing_support::slurp(dp_spec("doomed", 100000, 400)));
    d["restart_policy"] = {{"max_restarts", 0}};
    std::ofstream(path("doomed.json")) << d.dump(2);
  }
  const std::string id = submit(path("doomed.json"));
  const nlohmann::json running = wait_training(id);
  const std::string victim = running["placement"][1];
  workers_[victim]->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  wait_state(id, "FAILED", 20s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const nlohmann::json failed = api("/v1/jobs/" + id);
  const std::string reason = failed.value("reason", "");
  std::printf("data-parallel job failed %.1f s after its rank 1 was killed: %s\n", seconds,
              reason.c_str());
  EXPECT_TRUE(reason.find(victim) != std::string::npos ||
              reason.find("rank 1") != std::string::npos)
      << reason;
  EXPECT_NE(reason.find("(restart_policy.max_restarts is 0)"), std::string::npos) << reason;
  EXPECT_EQ(failed["restarts"], 0) << failed.dump();
  // The surviving worker is free again for the next job.
  const std::string next = submit(write_spec("after", 1, 100));
  wait_state(next, "SUCCEEDED", 60s);
}

// Cancelling a data-parallel job one of whose workers is SIGSTOPped: the
// other rank, waiting in a collective on the stopped one, gives up at the
// cancel (within about a second), not at sync.timeout_s (here 300 s, far
// beyond the test's limits), and its worker is free again. The stopped
// worker is not declared dead meanwhile (that would end the job on its own).
TEST_F(ClusterTest, ACancelledRankWaitingOnAStoppedPeerEndsAtTheCancel) {
  heartbeat_timeout_s_ = "120";
  start_coordinator();
  start_worker("w1");
  start_worker("w2");
  wait_for_alive_workers(2);
  const nlohmann::json spec = {
      {"name", "stalled"},
      {"model", {{"name", "mlp"}, {"hidden", {64}}}},
      {"data",
       {{"dataset", "digits"}, {"path", digits()}, {"train_limit", 400}, {"test_limit", 100}}},
      {"train", {{"epochs", 100000}, {"batch_size", 20}}},
      {"resources", {{"workers", 2}}},
      {"restart_policy", {{"max_restarts", 0}}},
      {"sync", {{"bucket_mb", 0.01}, {"timeout_s", 300}}}};
  std::ofstream(path("stalled.json")) << spec.dump(2);
  const std::string id = submit(path("stalled.json"));
  const nlohmann::json running = wait_training(id);
  const std::string stopped = running["placement"][1], survivor = running["placement"][0];
  workers_[stopped]->signal(SIGSTOP);
  // The survivor's rank waits on it once its steps stop moving for a second.
  int64_t steps = -1;
  auto last_change = std::chrono::steady_clock::now();
  wait_for("the survivor's steps to stop", [&] {
    const nlohmann::json v = api("/v1/jobs/" + id);
    const int64_t now = v["progress"].value("steps_total", int64_t{-1});
    if (now != steps) {
      steps = now;
      last_change = std::chrono::steady_clock::now();
    }
    return std::chrono::steady_clock::now() - last_change > 1s;
  });
  auto [crc, cout_] = cli({"cancel", id}, "cancel.log");
  EXPECT_EQ(crc, 0) << cout_;
  wait_for(survivor + " ends its rank as cancelled", [&] {
    return workers_[survivor]->output().find(id + " cancelled") != std::string::npos;
  });
  workers_[stopped]->signal(SIGCONT);
  wait_state(id, "CANCELLED");
  auto [lrc, logs] = cli({"logs", id}, "logs.log");
  EXPECT_EQ(lrc, 0) << logs;
  EXPECT_NE(
      logs.find("cancelled while waiting on the peers: ring rank 0: cancelled in a collective"),
      std::string::npos)
      << logs;
}

TEST_F(ClusterTest, FollowsCancelsAndLosesNothingAcrossACoordinatorSigkill) {
  start_coordinator();
  start_worker("w1");
  start_worker("w2");
  wait_for_alive_workers(2);

  // 1. Follow one job to SUCCEEDED, as a user would.
  const std::string quick = write_spec("quick", 2, 300);
  auto [rc, out] = cli({"submit", quick, "--follow"}, "follow.log");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("data: digits"), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 1/2"), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 2/2"), std::string::npos) << out;
  EXPECT_NE(out.find("job-1 SUCCEEDED: test accuracy"), std::string::npos) << out;
  EXPECT_LT(out.find("epoch 2/2"), out.find("checkpoint: "));

  // 2. Two long jobs take both workers; three more queue behind them.
  const std::string long1 = submit(write_spec("long1", 100000, 400));
  const std::string long2 = submit(write_spec("long2", 100000, 400));
  wait_state(long1, "RUNNING");
  wait_state(long2, "RUNNING");
  const std::string long3 = submit(write_spec("long3", 100000, 400));
  const std::string q2 = submit(write_spec("q2", 1, 200));
  const std::string q3 = submit(write_spec("q3", 1, 200));

  // 3. Cancel one running job; the next in the queue takes its worker.
  auto [crc, cout_] = cli({"cancel", long2}, "cancel.log");
  EXPECT_EQ(crc, 0) << cout_;
  wait_state(long2, "CANCELLED");
  wait_state(long3, "RUNNING");
  EXPECT_EQ(state(q2), "PENDING");
  EXPECT_EQ(state(q3), "PENDING");
  const nlohmann::json before = api("/v1/jobs");

  // 4. SIGKILL the coordinator with jobs queued and running; restart it.
  coordinator_->signal(SIGKILL);
  ASSERT_TRUE(coordinator_->wait(10s));
  start_coordinator();
  const nlohmann::json after = api("/v1/jobs");
  ASSERT_EQ(after["jobs"].size(), before["jobs"].size()) << after.dump();
  for (size_t i = 0; i < before["jobs"].size(); ++i) {
    EXPECT_EQ(after["jobs"][i]["id"], before["jobs"][i]["id"]);
    EXPECT_EQ(after["jobs"][i]["state"], before["jobs"][i]["state"]) << after["jobs"][i].dump();
  }

  // 5. The workers come back with their tasks: still running, not failed,
  //    even after the heartbeat timeout has passed.
  wait_for("workers back", [&] {
    int busy = 0;
    const nlohmann::json workers = api("/v1/workers");
    for (const auto& w : workers["workers"])
      busy += w["state"] == "ALIVE" && w["tasks"].size() == 1;
    return busy == 2;
  });
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(state(long1), "RUNNING");
  EXPECT_EQ(state(long3), "RUNNING");

  // 6. Cancel the long ones; the queue drains to SUCCEEDED.
  cli({"cancel", long1}, "cancel1.log");
  cli({"cancel", long3}, "cancel3.log");
  wait_state(long1, "CANCELLED");
  wait_state(long3, "CANCELLED");
  wait_state(q2, "SUCCEEDED", 60s);
  wait_state(q3, "SUCCEEDED", 60s);

  auto [jrc, jobs] = cli({"jobs"}, "jobs.log");
  EXPECT_EQ(jrc, 0);
  EXPECT_NE(jobs.find(q3), std::string::npos) << jobs;
  auto [src, status] = cli({"status", q2, "-o", "json"}, "status.log");
  EXPECT_EQ(src, 0);
  EXPECT_EQ(nlohmann::json::parse(status)["result"]["epochs"], 1);
  auto [lrc, logs] = cli({"logs", "job-1"}, "logs.log");
  EXPECT_EQ(lrc, 0);
  EXPECT_NE(logs.find("model: deep_convnet"), std::string::npos) << logs;
  auto [frc, followed] = cli({"logs", "-f", q2}, "logsf.log");
  EXPECT_EQ(frc, 0);
  EXPECT_NE(followed.find("checkpoint: "), std::string::npos) << followed;
  auto [wrc, workers] = cli({"workers"}, "workers.log");
  EXPECT_EQ(wrc, 0);
  EXPECT_NE(workers.find("w2"), std::string::npos);

  // 7. Everything stops cleanly on SIGTERM.
  for (auto& [name, w] : workers_) w->signal(SIGTERM);
  for (auto& [name, w] : workers_) {
    ASSERT_TRUE(w->wait(30s)) << name;
    EXPECT_EQ(w->exit_code(), 0) << w->output();
  }
  coordinator_->signal(SIGTERM);
  ASSERT_TRUE(coordinator_->wait(15s));
  EXPECT_EQ(coordinator_->exit_code(), 0);
}

TEST_F(ClusterTest, AWorkerRefusesPathsOutsideItsRootsAndCarriesOn) {
  // The coordinator lets anything be read (its roots include /), so the
  // worker's own check is what stands: its roots are the test's folder and
  // the source tree's data/. A link inside its roots leads to /etc/passwd.
  start_coordinator({"--data-root", "/"});
  start_worker("w1");
  wait_for_alive_workers(1);
  fs::create_symlink("/etc/passwd", path("innocent.csv.gz"));
  const std::string id = submit(write_spec("sly", 1, 100, path("innocent.csv.gz")));
  wait_state(id, "FAILED");
  const std::string reason = api("/v1/jobs/" + id).value("reason", "");
  EXPECT_NE(reason.find("/data/path"), std::string::npos) << reason;
  EXPECT_NE(reason.find("through a symlink"), std::string::npos) << reason;
  EXPECT_NE(reason.find(dir_.string()), std::string::npos) << reason;  // names the roots
  EXPECT_EQ(reason.find("root:"), std::string::npos) << reason;        // read nothing of it
  // An absolute path the coordinator allowed, refused by the worker too.
  const std::string shadow = submit(write_spec("shadow", 1, 100, "/etc/shadow"));
  wait_state(shadow, "FAILED");
  EXPECT_NE(api("/v1/jobs/" + shadow).value("reason", "").find("outside the data roots"),
            std::string::npos);
  // The worker carries on with a job inside its roots.
  const std::string good = submit(write_spec("good", 1, 100));
  wait_state(good, "SUCCEEDED", 60s);
}

TEST_F(ClusterTest, AJobTooBigForItsWorkerFailsNamingTheSizesAndTheWorkerCarriesOn) {
  start_coordinator();
  start_worker("small", {"--memory", "0.5"});
  wait_for_alive_workers(1);
  // 65536 x 65536 f32 weights: 16 GiB, in a worker that offers half a GiB.
  nlohmann::json big = nlohmann::json::parse(testing_support::slurp(write_spec("big", 1, 100)));
  big["model"] = {{"name", "mlp"}, {"hidden", {65536, 65536}}};
  std::ofstream(path("big.json")) << big.dump(2);
  const std::string id = submit(path("big.json"));
  wait_state(id, "FAILED");
  const std::string reason = api("/v1/jobs/" + id).value("reason", "");
  EXPECT_NE(reason.find("out of memory: 16.00 GiB more"), std::string::npos) << reason;
  EXPECT_NE(reason.find("0.50 GiB this process may use"), std::string::npos) << reason;
  // Still there, and the memory given back: a job that fits runs.
  const std::string good = submit(write_spec("fits", 1, 100));
  wait_state(good, "SUCCEEDED", 60s);
}

TEST_F(ClusterTest, CliExitCodes) {
  start_coordinator({"--token", "s3cret"});
  auto [rc1, o1] = cli({"jobs"}, "noauth.log");
  EXPECT_EQ(rc1, 3) << o1;
  EXPECT_NE(o1.find("token"), std::string::npos) << o1;
  auto [rc2, o2] = cli({"jobs", "--token", "s3cret"}, "auth.log");
  EXPECT_EQ(rc2, 0) << o2;
  const std::string bad = path("bad.json");
  std::ofstream(bad) << R"({"train": {"batch_size": 0}, "checkpoint": {"path": "/etc/x"}})";
  auto [rc3, o3] = cli({"submit", bad, "--token", "s3cret"}, "bad.log");
  EXPECT_EQ(rc3, 2) << o3;
  EXPECT_NE(o3.find("/train/batch_size: must be >= 1"), std::string::npos) << o3;
  EXPECT_NE(o3.find("/checkpoint/path: must be under the checkpoint root"), std::string::npos)
      << o3;
  auto [rc4, o4] = cli({"status", "job-42", "--token", "s3cret"}, "missing.log");
  EXPECT_EQ(rc4, 1) << o4;
  auto [rc5, o5] =
      testing_support::run({"jobs", "--server", "http://127.0.0.1:1"}, path("down.log"));
  EXPECT_EQ(rc5, 3) << o5;
  auto [rc6, o6] = testing_support::run({"submit"}, path("usage.log"));
  EXPECT_EQ(rc6, 2) << o6;
  auto [rc7, o7] = cli({"submit", path("nope.json"), "--token", "s3cret"}, "nofile.log");
  EXPECT_EQ(rc7, 2) << o7;
}

TEST_F(ClusterTest, UpRunsAJobToItsEndAndStopsEverything) {
  const std::string ok = write_spec("up-ok", 1, 200);
  const std::vector<std::string> base = up_args();
  auto args = base;
  args.insert(args.end(), {"--submit", ok, "--follow"});
  auto [rc, out] = testing_support::run(args, path("up.log"), 120s);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("SUCCEEDED: test accuracy"), std::string::npos) << out;
  EXPECT_NE(out.find("stopping the cluster"), std::string::npos) << out;
  // The coordinator stopped cleanly (it removes its endpoint file) and the
  // worker reported its stop.
  EXPECT_FALSE(fs::exists(path("runs/cluster/coordinator.json")));
  EXPECT_TRUE(fs::exists(path("runs/up-ok/final.safetensors")));

  // A job that fails: exit code 1 and the reason.
  const std::string broken = write_spec("up-broken", 1, 200, path("nowhere.csv.gz"));
  args = base;
  args.insert(args.end(), {"--submit", broken, "--follow"});
  auto [rc2, out2] = testing_support::run(args, path("up2.log"), 120s);
  EXPECT_EQ(rc2, 1) << out2;
  EXPECT_NE(out2.find("FAILED"), std::string::npos) << out2;
  EXPECT_NE(out2.find("nowhere.csv.gz"), std::string::npos) << out2;
  // The store kept both jobs.
  EXPECT_NE(out2.find("job-2"), std::string::npos) << out2;
}

TEST_F(ClusterTest, UpStopsEverythingOnCtrlC) {
  Process up({"up", "--workers", "2", "--port", "0", "--zmq-port", "0", "--state-dir",
              path("runs/cluster"), "--checkpoint-root", path("runs")},
             path("up.log"));
  wait_for("cluster up",
           [&] { return up.output().find("Ctrl-C stops everything") != std::string::npos; });
  const nlohmann::json ep =
      nlohmann::json::parse(testing_support::slurp(path("runs/cluster/coordinator.json")));
  up.signal(SIGINT);
  ASSERT_TRUE(up.wait(40s)) << up.output();
  EXPECT_EQ(up.exit_code(), 0) << up.output();
  EXPECT_FALSE(fs::exists(path("runs/cluster/coordinator.json")));
  EXPECT_EQ(::kill(ep["pid"].get<pid_t>(), 0), -1);  // the coordinator is gone
  EXPECT_NE(testing_support::slurp(path("runs/cluster/coordinator.log")).find("stopping"),
            std::string::npos);
}

// The pid of a running process whose command line holds every one of
// `parts` (this test's own paths make it unique), or 0.
pid_t pid_with_args(const std::vector<std::string>& parts) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = testing_support::slurp(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    bool all = !cmdline.empty();
    for (const std::string& part : parts) all = all && cmdline.find(part) != std::string::npos;
    if (all) return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

// A process of `ringmaster up` that dies is started again, as compose's
// `restart: unless-stopped` does, and the followed job carries on: its worker
// is SIGKILLed while the job trains (the coordinator queues the job again;
// the worker comes back and runs it from its checkpoint), then the
// coordinator (it comes back on the same ports, where the worker and
// `--follow` find it), and the job still ends SUCCEEDED. Before, up stopped
// the whole cluster when a worker died, and a followed job waited forever.
TEST_F(ClusterTest, UpStartsAgainAWorkerOrACoordinatorThatDies) {
  const std::string spec = path("up-restart.json");
  std::ofstream(spec) << nlohmann::json{
      {"name", "up-restart"},
      {"data",
       {{"dataset", "digits"}, {"path", digits()}, {"train_limit", 1000}, {"test_limit", 100}}},
      {"train", {{"epochs", 60}, {"batch_size", 25}, {"seed", 2}}},
      {"checkpoint",
       {{"every_epochs",
         10}}}}.dump();
  std::vector<std::string> args = up_args();
  args.insert(args.end(), {"--submit", spec, "--follow"});
  Process up(args, path("up.log"));
  auto saw = [&](const std::string& text, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (up.output().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  };
  auto endpoints = [&] {  // the coordinator's, of its latest start
    return nlohmann::json::parse(testing_support::slurp(path("runs/cluster/coordinator.json")));
  };
  auto job = [&] {
    const std::string http = endpoints()["http"];
    const auto port = static_cast<uint16_t>(std::stoi(http.substr(http.rfind(':') + 1)));
    return RawHttp(port).request("GET", "/v1/jobs/job-1").json();
  };
  ASSERT_TRUE(saw("epoch 1/60", 90s)) << up.output();
  const std::string worker_key = path("runs/cluster/keys/worker.key");
  const pid_t worker = pid_with_args({"worker", "--name worker-1", worker_key});
  ASSERT_GT(worker, 0) << up.output();
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  ASSERT_TRUE(saw("worker-1 exited (killed by SIGKILL, signal 9); starting it again", 30s))
      << up.output();
  ASSERT_TRUE(saw("worker-1 started again (restart 1)", 30s)) << up.output();
  // The job runs again, as its next attempt, on the worker that came back.
  const auto end = std::chrono::steady_clock::now() + 60s;
  nlohmann::json j;
  while (std::chrono::steady_clock::now() < end) {
    try {
      j = job();
      if (j.value("state", "") == "RUNNING" && j.value("restarts", 0) == 1) break;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(j.value("restarts", 0), 1) << j.dump() << "\n" << up.output();
  ASSERT_EQ(::kill(endpoints()["pid"].get<pid_t>(), SIGKILL), 0);
  ASSERT_TRUE(saw("the coordinator started again (restart 1)", 30s)) << up.output();
  ASSERT_TRUE(up.wait(240s)) << up.output();
  EXPECT_EQ(up.exit_code(), 0) << up.output();
  EXPECT_NE(up.output().find("job-1 SUCCEEDED"), std::string::npos) << up.output();
  EXPECT_TRUE(fs::exists(path("runs/up-restart/final.safetensors")));
  // Nothing of the cluster is left running.
  EXPECT_EQ(pid_with_args({"worker", "--name worker-1", worker_key}), 0);
}

// While the cluster starts, a child killed by a signal is started again too
// (before, up gave up: "the coordinator exited (status 137)"): the
// coordinator is SIGKILLed as soon as it runs, then worker-1, and the
// followed job still ends SUCCEEDED. One that exits by itself (here: its
// REST port is taken) still fails the start at once, saying why.
TEST_F(ClusterTest, UpStartsAgainAChildKilledWhileItStartsAndFailsOnOneThatExits) {
  const std::string spec = path("up-start.json");
  std::ofstream(spec) << nlohmann::json{
      {"name", "up-start"},
      {"data",
       {{"dataset", "digits"}, {"path", digits()}, {"train_limit", 300}, {"test_limit", 100}}},
      {"train",
       {{"epochs", 2},
        {"batch_size", 25},
        {"seed", 2}}}}.dump();
  std::vector<std::string> args = up_args();
  args.insert(args.end(), {"--submit", spec, "--follow"});
  Process up(args, path("up.log"));
  auto kill_when_seen = [](const std::vector<std::string>& parts) {
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < end) {
      if (const pid_t pid = pid_with_args(parts); pid > 0) return ::kill(pid, SIGKILL) == 0;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  };
  ASSERT_TRUE(kill_when_seen({"coordinator", path("runs/cluster/keys/coordinator.key")}))
      << up.output();
  ASSERT_TRUE(kill_when_seen({"worker", "--name worker-1", path("runs/cluster/keys/worker.key")}))
      << up.output();
  ASSERT_TRUE(up.wait(180s)) << up.output();
  EXPECT_EQ(up.exit_code(), 0) << up.output();
  EXPECT_NE(up.output().find("the coordinator exited (killed by SIGKILL, signal 9)"),
            std::string::npos)
      << up.output();
  EXPECT_NE(up.output().find("worker-1 exited (killed by SIGKILL, signal 9)"), std::string::npos)
      << up.output();
  EXPECT_NE(up.output().find("job-1 SUCCEEDED"), std::string::npos) << up.output();

  // A REST port that is taken: the coordinator exits by itself.
  uint16_t port = 0;
  const int taken = testing_support::bound_loopback_socket(port);
  ASSERT_GE(taken, 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  std::vector<std::string> busy_port = up_args();
  *(std::find(busy_port.begin(), busy_port.end(), "--port") + 1) = std::to_string(port);
  Process refused(busy_port, path("up-refused.log"));
  ASSERT_TRUE(refused.wait(60s)) << refused.output();
  ::close(taken);
  EXPECT_EQ(refused.exit_code(), 1) << refused.output();
  EXPECT_NE(refused.output().find("ringmaster up: the coordinator exited (status "),
            std::string::npos)
      << refused.output();
  EXPECT_EQ(refused.output().find("starting it again"), std::string::npos) << refused.output();
}

}  // namespace
}  // namespace ringmaster
