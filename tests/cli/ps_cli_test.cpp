// `ringmaster ps` as real processes: two shards serve a two-worker BSP job
// whose optimizer travels in the init (same weights as the local run; the
// tensors through each shard's shared-memory segments), refuse
// a bad optimizer and a wrong shard index and live on, stop on SIGTERM; a
// shard killed with SIGKILL makes its clients fail with no_reply in time.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "comm/ps_client.h"
#include "tests/comm/ps_test_util.h"
#include "tests/integration/process.h"
#include "tests/test_dir.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using comm::test::Mlp;
using testing_support::Process;

// Starts `ringmaster ps` on port 0 and returns its endpoint from its first line.
std::string start_ps(std::unique_ptr<Process>& p, const fs::path& out, int index, int shards) {
  p = std::make_unique<Process>(
      std::vector<std::string>{"ps", "--bind", "127.0.0.1", "--port", "0", "--shard-index",
                               std::to_string(index), "--shards", std::to_string(shards)},
      out.string());
  const std::regex line("listening on (tcp://127\\.0\\.0\\.1:[0-9]+)");
  for (int i = 0; i < 250; ++i) {  // up to 5 s
    std::smatch m;
    const std::string text = testing_support::slurp(out.string());
    if (std::regex_search(text, m, line)) return m[1];
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "ringmaster ps did not start: " << testing_support::slurp(out.string());
  return "";
}

class PsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::fresh_test_dir("ps_cli");
    for (int i = 0; i < 2; ++i)
      endpoints_.push_back(start_ps(ps_[i], dir_ / ("ps" + std::to_string(i) + ".txt"), i, 2));
    ASSERT_FALSE(endpoints_[0].empty() || endpoints_[1].empty());
  }
  void TearDown() override {
    ps_[0].reset();
    ps_[1].reset();
    fs::remove_all(dir_);
  }
  comm::PsClientOptions options(int rank, int world) const {
    comm::PsClientOptions o;
    o.job_id = "cli-job";
    o.rank = rank;
    o.world = world;
    o.slice_elems = 16;
    o.timeout = 5s;
    o.grace = 1s;
    o.update = {{"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}}},
                {"steps_per_epoch", 10}};
    return o;
  }

  fs::path dir_;
  std::unique_ptr<Process> ps_[2];
  std::vector<std::string> endpoints_;
};

TEST_F(PsCommand, TwoShardProcessesServeABspJobWithTheOptimizerFromTheInit) {
  comm::Context ctx;
  // Refusals first; the shards live on.
  {
    comm::PsClientOptions bad = options(0, 1);
    bad.job_id = "bad-job";
    bad.update = {{"optimizer", {{"name", "sgd"}, {"lr", -1}}}, {"steps_per_epoch", 10}};
    comm::ParameterServerClient c(ctx, endpoints_, Mlp::keys(), bad);
    comm::PsTensors w = Mlp::init(3);
    try {
      c.init(&w);
      ADD_FAILURE() << "a bad optimizer must be refused";
    } catch (const comm::PsError& e) {
      EXPECT_EQ(e.code(), "bad_update");
      EXPECT_NE(std::string(e.what()).find("/optimizer/lr"), std::string::npos) << e.what();
    }
    comm::ParameterServerClient swapped(ctx, {endpoints_[1], endpoints_[0]}, Mlp::keys(),
                                        options(0, 1));
    EXPECT_THROW(swapped.init(&w), comm::PsError);
  }
  constexpr int kSteps = 20;
  const auto batches = comm::test::make_batches(kSteps, 24, 11);
  comm::PsTensors result;
  comm::test::run_ranks(2, [&](int rank) {
    comm::ParameterServerClient client(ctx, endpoints_, Mlp::keys(), options(rank, 2));
    comm::PsTensors w = Mlp::init(3);
    client.init(rank == 0 ? &w : nullptr);
    // Each shard process offered this rank a segment of its memory, and this
    // process could open it (/proc/PID/fd): the tensors go through those.
    EXPECT_EQ(client.shared_memory_shards(), 2);
    client.pull(0, w);
    for (int s = 0; s < kSteps; ++s) {
      client.push(
          s, comm::test::mlp_grad(w, batches[static_cast<size_t>(s)], rank * 12, rank * 12 + 12));
      client.pull(s + 1, w);
    }
    client.finish();
    if (rank == 0) result = w;
  });
  // The same with the update written out (torch SGD with momentum = training::SGD).
  comm::PsTensors local = Mlp::init(3);
  comm::PsJobInfo info;
  comm::PsUpdate update = comm::test::sgd_momentum(0.05f, 0.9f)(info, local);
  for (int s = 0; s < kSteps; ++s)
    update(s, local, comm::test::mlp_grad(local, batches[static_cast<size_t>(s)], 0, 24));
  EXPECT_LE(comm::test::max_rel_diff(result, local), 1e-5);

  for (auto& p : ps_) {
    p->signal(SIGTERM);
    ASSERT_TRUE(p->wait(5s));
    EXPECT_EQ(p->exit_code(), 0) << p->output();
    EXPECT_NE(p->output().find("ps: stopping"), std::string::npos);
  }
}

TEST_F(PsCommand, AKilledShardMakesItsClientsFailWithNoReplyInTime) {
  comm::Context ctx;
  comm::PsClientOptions o = options(0, 1);
  o.timeout = 500ms;
  o.grace = 500ms;
  comm::ParameterServerClient client(ctx, endpoints_, Mlp::keys(), o);
  comm::PsTensors w = Mlp::init(3);
  client.init(&w);
  client.pull(0, w);
  ps_[1]->signal(SIGKILL);
  ASSERT_TRUE(ps_[1]->wait(5s));
  const auto t0 = std::chrono::steady_clock::now();
  try {
    client.push(0, comm::test::mlp_grad(w, comm::test::make_batches(1, 24, 1)[0], 0, 24));
    client.pull(1, w);
    ADD_FAILURE() << "a dead shard must make the client throw";
  } catch (const comm::CommError& e) {
    EXPECT_NE(std::string(e.what()).find(endpoints_[1]), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s + 500ms);
}

}  // namespace
}  // namespace ringmaster
