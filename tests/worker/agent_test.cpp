// The worker agent against a fake coordinator (a ROUTER socket in the test)
// over TCP on loopback: it registers with its resources, heartbeats, runs an
// assigned task through the real trainer on real digits, streams logs and
// progress, reports the result until acknowledged, honours cancel, registers
// again when the coordinator forgets it (with the reports it has not
// acknowledged), leaves a task that outlasts its stop without aborting,
// answers garbage with an error, and gives up (exit 3) when the
// coordinator stays silent.
#include "worker/agent.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "comm/transport.h"
#include "tests/test_dir.h"

namespace ringmaster::worker {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string digits() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(digits())) GTEST_SKIP() << digits() << " missing: run scripts/install-deps.sh";
    dir_ = testing_support::fresh_test_dir("agent");
    router_ = std::make_unique<comm::Socket>(ctx_, comm::SocketKind::kRouter);
    router_->bind("tcp://127.0.0.1:*");
  }
  void TearDown() override {
    if (agent_) agent_->request_stop();
    if (thread_.joinable()) thread_.join();
    router_.reset();
    fs::remove_all(dir_);
  }

  void start_agent(std::chrono::milliseconds coordinator_timeout = 30s,
                   std::chrono::milliseconds shutdown_grace = 20s) {
    AgentOptions o;
    o.coordinator = router_->endpoint();
    o.name = "test-worker";
    o.cores = 3;
    o.gpus = std::vector<int>{};
    o.coordinator_timeout = coordinator_timeout;
    o.shutdown_grace = shutdown_grace;
    o.verbose = false;
    o.roots = {{fs::path(digits()).parent_path()},
               {dir_}};  // where the test's job reads and writes
    agent_ = std::make_unique<Agent>(o);
    thread_ = std::thread([this] { exit_code_ = agent_->run(); });
  }

  // The next message of `type` (others are collected in seen_).
  std::optional<comm::Message> expect(const std::string& type,
                                      std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      auto env = router_->receive(20ms);
      if (!env) continue;
      EXPECT_EQ(env->peer, "test-worker");
      comm::Message m = comm::decode(env->frames);
      if (m.type == type) return m;
      seen_.push_back(m);
    }
    ADD_FAILURE() << "no " << type << " within " << limit.count() << " ms";
    return std::nullopt;
  }
  void send(const comm::Message& m) { ASSERT_TRUE(router_->send("test-worker", m)); }
  void handshake() {
    auto reg = expect("register");
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->header["cores"], 3);
    EXPECT_EQ(reg->header["slots"], 1);
    EXPECT_GT(reg->header["memory_bytes"].get<int64_t>(), 0);
    send({"registered", {{"worker_id", "test-worker"}, {"heartbeat_interval_ms", 200}}, {}});
  }
  nlohmann::json spec(int epochs, int train_limit) const {
    return {{"name", "agent-test"},
            {"data", {{"dataset", "digits"}, {"path", digits()}, {"train_limit", train_limit}}},
            {"train", {{"epochs", epochs}, {"batch_size", 20}, {"seed", 1}}},
            {"checkpoint", {{"path", (dir_ / "ck.safetensors").string()}}}};
  }

  fs::path dir_;
  comm::Context ctx_;
  std::unique_ptr<comm::Socket> router_;
  std::unique_ptr<Agent> agent_;
  std::thread thread_;
  int exit_code_ = -1;
  std::vector<comm::Message> seen_;
};

TEST_F(AgentTest, RegistersRunsATaskAndReportsUntilAcknowledged) {
  start_agent();
  handshake();
  ASSERT_TRUE(expect("heartbeat"));
  send({"assign", {{"job_id", "job-1"}, {"spec", spec(2, 200)}, {"threads", 1}}, {}});
  auto hb = expect("heartbeat");
  ASSERT_TRUE(hb);
  auto fin = expect("finished", 60s);
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->header["job_id"], "job-1");
  EXPECT_FALSE(fin->header["cancelled"].get<bool>());
  EXPECT_EQ(fin->header["result"]["epochs"], 2);
  EXPECT_EQ(fin->header["result"]["threads"], 1);
  EXPECT_TRUE(fs::exists(dir_ / "ck.safetensors"));
  int logs = 0, epochs = 0;
  for (const auto& m : seen_) {
    if (m.type == "log") logs += static_cast<int>(m.header["lines"].size());
    if (m.type == "progress" && m.header["kind"] == "epoch") ++epochs;
  }
  EXPECT_GE(logs, 3);  // device, data, model
  EXPECT_EQ(epochs, 2);
  // Not acknowledged: sent again; acknowledged: not any more.
  ASSERT_TRUE(expect("finished", 5s));
  send({"ack", {{"job_id", "job-1"}}, {}});
  seen_.clear();
  std::this_thread::sleep_for(2500ms);
  while (auto env = router_->receive(0ms)) seen_.push_back(comm::decode(env->frames));
  for (const auto& m : seen_) EXPECT_NE(m.type, "finished");
  agent_->request_stop();
  thread_.join();
  EXPECT_EQ(exit_code_, 0);
}

TEST_F(AgentTest, CancelStopsTheTaskAndIsReportedAsCancelled) {
  start_agent();
  handshake();
  send({"assign", {{"job_id", "job-2"}, {"spec", spec(500, 1000)}, {"threads", 1}}, {}});
  ASSERT_TRUE(expect("progress", 30s));
  const auto t0 = std::chrono::steady_clock::now();
  send({"cancel", {{"job_id", "job-2"}, {"reason", "user"}}, {}});
  auto fin = expect("finished", 20s);
  ASSERT_TRUE(fin);
  EXPECT_TRUE(fin->header["cancelled"].get<bool>());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_FALSE(fs::exists(dir_ / "ck.safetensors"));
}

TEST_F(AgentTest, RegistersAgainWhenTheCoordinatorForgetsIt) {
  start_agent();
  handshake();
  ASSERT_TRUE(expect("heartbeat"));
  send({"error", {{"code", "unknown_worker"}, {"message", "register first"}}, {}});
  auto again = expect("register", 5s);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->header["tasks"].empty());
}

TEST_F(AgentTest, AnswersGarbageWithAnErrorAndCarriesOn) {
  start_agent();
  handshake();
  ASSERT_TRUE(router_->send(comm::Envelope{"test-worker", {"assign/1", "{not json"}}));
  auto err = expect("error");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->header["code"], "bad_header");
  send({"registered", {{"worker_id", "test-worker"}, {"heartbeat_interval_ms", 200}}, {}});
  ASSERT_TRUE(expect("heartbeat"));
}

TEST_F(AgentTest, ABadSpecFailsTheTaskNotTheWorker) {
  start_agent();
  handshake();
  send({"assign",
        {{"job_id", "job-3"}, {"spec", {{"train", {{"epochs", 0}}}}}, {"threads", 1}},
        {}});
  auto failed = expect("failed");
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->header["reason"].get<std::string>().find("/train/epochs"), std::string::npos);
  ASSERT_TRUE(expect("heartbeat"));
}

// A failed task has no result: registering again (the coordinator restarted
// before it acknowledged the failure) still carries it, reason and all.
// Before, the worker threw on its own register and aborted (found by
// SIGKILLing `ringmaster up`'s children at random).
TEST_F(AgentTest, RegistersAgainWithAFailureTheCoordinatorDidNotAcknowledge) {
  start_agent();
  handshake();
  send({"assign",
        {{"job_id", "job-4"},
         {"spec", {{"train", {{"epochs", 0}}}}},
         {"threads", 1},
         {"attempt", 2}},
        {}});
  ASSERT_TRUE(expect("failed"));
  send({"error", {{"code", "unknown_worker"}, {"message", "register first"}}, {}});
  auto again = expect("register", 5s);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->header["tasks"].size(), 1u);
  const nlohmann::json& task = again->header["tasks"][0];
  EXPECT_EQ(task["job_id"], "job-4");
  EXPECT_EQ(task["state"], "failed");
  EXPECT_EQ(task["attempt"], 2);
  EXPECT_FALSE(task.contains("result"));
  EXPECT_NE(task.value("reason", "").find("/train/epochs"), std::string::npos);
  send({"registered", {{"worker_id", "test-worker"}, {"heartbeat_interval_ms", 200}}, {}});
  ASSERT_TRUE(expect("heartbeat"));
}

// A task that outlasts the shutdown grace (here 1 ms against steps of about
// half a second) is left running: run() returns 0 and the agent goes away without
// taking the process down (before, destroying the task's joinable thread
// aborted it: seen when `ringmaster up` stopped a worker whose data-parallel
// rank waited on a SIGSTOPped peer).
TEST_F(AgentTest, AStopThatOutlastsTheShutdownGraceLeavesTheTaskRunning) {
  start_agent(30s, 1ms);
  handshake();
  nlohmann::json heavy = spec(50, 1000);
  heavy["model"] = {{"name", "resnet"}, {"depth", 20}, {"width", 32}};
  heavy["train"]["batch_size"] = 500;
  send({"assign", {{"job_id", "job-5"}, {"spec", heavy}, {"threads", 1}}, {}});
  ASSERT_TRUE(expect("progress", 60s));
  agent_->request_stop();
  thread_.join();
  EXPECT_EQ(exit_code_, 0);
  EXPECT_TRUE(agent_->left_a_task_running());
  agent_.reset();
  // The task sees its cancel after its step and ends on its own.
  std::this_thread::sleep_for(2s);
}

TEST_F(AgentTest, GivesUpWhenTheCoordinatorIsSilent) {
  start_agent(800ms);
  ASSERT_TRUE(expect("register"));  // and never answered
  thread_.join();
  EXPECT_EQ(exit_code_, 3);
}

}  // namespace
}  // namespace ringmaster::worker
