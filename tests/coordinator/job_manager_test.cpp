// The job manager over a real SQLite store: the state machine, queue order,
// idempotency, cancel (pending and running), delete rules, logs, and a
// reload that finds every job in its state and the queue in its order.
#include "coordinator/job_manager.h"

#include <gtest/gtest.h>

#include "test_dir.h"

namespace ringmaster::coordinator {
namespace {

NewJob new_job(const std::string& name, int64_t priority = 0, const std::string& key = "",
               uint64_t hash = 1) {
  NewJob n;
  n.name = name;
  n.priority = priority;
  n.spec = {{"name", name}};
  n.idempotency_key = key;
  n.request_hash = hash;
  return n;
}

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::fresh_test_dir("rm_jobs");
    reopen();
  }
  void TearDown() override {
    jobs_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen(size_t max_jobs = JobManager::kDefaultMaxJobs) {
    jobs_.reset();
    store_.reset();
    store_ = open_sqlite_job_store((dir_ / "jobs.db").string(), Durability::kNormal);
    jobs_ = std::make_unique<JobManager>(*store_, max_jobs);
  }
  // Every line of a job's log.
  std::vector<std::string> all_logs(const std::string& id) {
    return jobs_->read_logs(id, 0, JobManager::kMaxLogLinesPerJob + 10).lines;
  }
  static int64_t bytes_of(const std::vector<std::string>& lines) {
    int64_t n = 0;
    for (const auto& l : lines) n += static_cast<int64_t>(l.size());
    return n;
  }
  std::string submit(const std::string& name, int64_t priority = 0) {
    return jobs_->submit(new_job(name, priority)).view.job.id;
  }
  JobState state(const std::string& id) { return jobs_->get(id)->job.state; }

  std::filesystem::path dir_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobManager> jobs_;
};

TEST_F(JobManagerTest, RunsThroughTheStatesAndKeepsThemAcrossARestart) {
  const std::string a = submit("a"), b = submit("b", 5), c = submit("c");
  EXPECT_EQ(a, "job-1");
  auto q = jobs_->queue();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].id, b);  // priority first
  EXPECT_EQ(q[1].id, a);
  EXPECT_EQ(q[2].id, c);

  ASSERT_TRUE(jobs_->start({b, {"w1"}}));
  EXPECT_FALSE(jobs_->start({b, {"w2"}}));  // no longer pending
  EXPECT_EQ(state(b), JobState::kRunning);
  EXPECT_FALSE(jobs_->finish(b, "w2", {}, false));  // not its worker
  EXPECT_TRUE(jobs_->append_logs(b, "w1", {"hello", "world"}));
  EXPECT_TRUE(jobs_->record_progress(b, "w1", "step", {{"step", 3}}));
  EXPECT_TRUE(jobs_->finish(b, "w1", {{"test_accuracy", 0.9}}, false));
  EXPECT_EQ(state(b), JobState::kSucceeded);
  EXPECT_FALSE(jobs_->finish(b, "w1", {}, false));  // duplicate report

  ASSERT_TRUE(jobs_->start({a, {"w1"}}));
  EXPECT_TRUE(jobs_->fail(a, "", "worker w1 sent no heartbeat"));
  EXPECT_EQ(state(a), JobState::kFailed);
  EXPECT_EQ(jobs_->get(a)->job.reason, "worker w1 sent no heartbeat");

  reopen();
  EXPECT_EQ(state(a), JobState::kFailed);
  EXPECT_EQ(state(b), JobState::kSucceeded);
  EXPECT_EQ(state(c), JobState::kPending);
  EXPECT_EQ(jobs_->get(b)->job.result["test_accuracy"], 0.9);
  EXPECT_EQ(jobs_->read_logs(b, 0, 10).lines, (std::vector<std::string>{"hello", "world"}));
  ASSERT_EQ(jobs_->queue().size(), 1u);
  EXPECT_EQ(submit("d"), "job-4");
}

TEST_F(JobManagerTest, IdempotencyKeyReturnsTheSameJob) {
  auto first = jobs_->submit(new_job("x", 0, "k1", 42));
  auto again = jobs_->submit(new_job("x", 0, "k1", 42));
  EXPECT_TRUE(first.created);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(first.view.job.id, again.view.job.id);
  EXPECT_THROW(jobs_->submit(new_job("y", 0, "k1", 43)), IdempotencyConflict);
  reopen();
  EXPECT_EQ(jobs_->submit(new_job("x", 0, "k1", 42)).view.job.id, first.view.job.id);
  EXPECT_EQ(jobs_->list(std::nullopt, 100).size(), 1u);
}

TEST_F(JobManagerTest, CancelIsIdempotentForPendingAndRunningJobs) {
  const std::string p = submit("p"), r = submit("r");
  EXPECT_EQ(jobs_->cancel(p), JobManager::CancelResult::kCancelled);
  EXPECT_EQ(jobs_->cancel(p), JobManager::CancelResult::kCancelled);
  EXPECT_EQ(state(p), JobState::kCancelled);

  ASSERT_TRUE(jobs_->start({r, {"w1"}}));
  EXPECT_EQ(jobs_->cancel(r), JobManager::CancelResult::kCancelling);
  EXPECT_EQ(jobs_->cancel(r), JobManager::CancelResult::kCancelling);
  auto to_send = jobs_->take_cancel_requests();
  ASSERT_EQ(to_send.size(), 1u);  // handed out once
  EXPECT_TRUE(jobs_->take_cancel_requests().empty());
  EXPECT_EQ(state(r), JobState::kRunning);
  EXPECT_TRUE(jobs_->finish(r, "w1", {}, true));
  EXPECT_EQ(state(r), JobState::kCancelled);
  EXPECT_EQ(jobs_->cancel(r), JobManager::CancelResult::kCancelled);
  EXPECT_EQ(jobs_->cancel("job-99"), JobManager::CancelResult::kNotFound);
}

TEST_F(JobManagerTest, AWorkerDyingDuringACancelEndsCancelled) {
  const std::string r = submit("r");
  ASSERT_TRUE(jobs_->start({r, {"w1"}}));
  jobs_->cancel(r);
  EXPECT_TRUE(jobs_->fail(r, "", "worker w1 sent no heartbeat"));
  EXPECT_EQ(state(r), JobState::kCancelled);
}

TEST_F(JobManagerTest, OnlyFinishedJobsCanBeDeleted) {
  const std::string a = submit("a");
  EXPECT_EQ(jobs_->remove(a), JobManager::RemoveResult::kNotFinished);
  jobs_->cancel(a);
  EXPECT_EQ(jobs_->remove(a), JobManager::RemoveResult::kRemoved);
  EXPECT_EQ(jobs_->remove(a), JobManager::RemoveResult::kNotFound);
  EXPECT_FALSE(jobs_->get(a));
  reopen();
  EXPECT_FALSE(jobs_->get(a));
  EXPECT_EQ(submit("b"), "job-2");  // ids are not reused
}

TEST_F(JobManagerTest, StoredJobsAreCappedAndDeletingOneMakesRoom) {
  reopen(3);
  const std::string a = submit("a");
  submit("b");
  submit("c");
  try {
    submit("d");
    ADD_FAILURE() << "a fourth job was stored";
  } catch (const TooManyJobs& e) {
    EXPECT_NE(std::string(e.what()).find("maximum of 3 jobs"), std::string::npos) << e.what();
  }
  jobs_->cancel(a);
  ASSERT_EQ(jobs_->remove(a), JobManager::RemoveResult::kRemoved);
  EXPECT_EQ(submit("d"), "job-4");
  reopen(3);  // the cap counts what the store holds after a restart too
  EXPECT_THROW(submit("e"), TooManyJobs);
}

TEST_F(JobManagerTest, LogsAreCappedInBytesAndLongLinesAreCut) {
  const std::string id = submit("chatty");
  ASSERT_TRUE(jobs_->start({id, {"w1"}}));
  const std::string huge(10000, 'x');
  ASSERT_TRUE(jobs_->append_logs(id, "w1", {"short", huge}));
  std::vector<std::string> log = all_logs(id);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "short");
  EXPECT_EQ(log[1].substr(0, JobManager::kMaxLogLineBytes), huge.substr(0, 4096));
  EXPECT_NE(log[1].find("[ringmaster: line cut at 4096 bytes]"), std::string::npos);
  EXPECT_LT(log[1].size(), 4200u);
  // 4 KiB lines in batches until well past the cap: the log stops at it, marked.
  const std::vector<std::string> batch(256, std::string(4000, 'y'));  // ~1 MiB a batch
  for (int i = 0; i < 24; ++i) ASSERT_TRUE(jobs_->append_logs(id, "w1", batch));
  log = all_logs(id);
  EXPECT_LE(bytes_of(log), JobManager::kMaxLogBytesPerJob);
  EXPECT_GT(bytes_of(log), JobManager::kMaxLogBytesPerJob - 8192);
  EXPECT_NE(log.back().find("log truncated"), std::string::npos) << log.back();
  // Nothing more is kept, also after a coordinator restart.
  const size_t lines = log.size();
  reopen();
  ASSERT_TRUE(jobs_->append_logs(id, "w1", batch));
  log = all_logs(id);
  EXPECT_LE(bytes_of(log), JobManager::kMaxLogBytesPerJob);
  EXPECT_LE(log.size(), lines + 2);
}

TEST_F(JobManagerTest, ListFiltersByStateAndRequeueCountsARestart) {
  const std::string a = submit("a"), b = submit("b");
  jobs_->start({a, {"w1"}});
  EXPECT_EQ(jobs_->list(JobState::kRunning, 10).size(), 1u);
  EXPECT_EQ(jobs_->list(JobState::kPending, 10)[0].job.id, b);
  EXPECT_FALSE(jobs_->requeue(a, 1, "an attempt that is not running"));
  EXPECT_EQ(state(a), JobState::kRunning);
  EXPECT_TRUE(jobs_->requeue(a, 0, "worker unreachable"));
  EXPECT_EQ(state(a), JobState::kPending);
  EXPECT_EQ(jobs_->get(a)->job.restarts, 1);
  EXPECT_EQ(jobs_->get(a)->job.death_restarts, 0);  // not held against max_restarts
  EXPECT_EQ(jobs_->queue()[0].id, a);               // keeps its place
}

TEST_F(JobManagerTest, KeepsTheMostRecentEpochReports) {
  const std::string a = submit("a");
  jobs_->start({a, {"w1"}});
  for (int e = 1; e <= 150; ++e)
    EXPECT_TRUE(jobs_->record_progress(a, "w1", "epoch", {{"epoch", e}}));
  EXPECT_FALSE(jobs_->record_progress(a, "w2", "epoch", {{"epoch", 151}}));  // not its worker
  const auto epochs = jobs_->get(a)->epochs;
  ASSERT_EQ(epochs.size(), JobManager::kMaxEpochReports);
  EXPECT_EQ(epochs.front()["epoch"], 51);
  EXPECT_EQ(epochs.back()["epoch"], 150);
  EXPECT_TRUE(jobs_->runs_on(a, "w1"));
  EXPECT_FALSE(jobs_->runs_on(a, "w2"));
}

TEST_F(JobManagerTest, ADataParallelJobSucceedsOnceEveryRankHasWithRankZerosResult) {
  const std::string a = submit("a");
  ASSERT_TRUE(jobs_->start({a, {"w1", "w2"}}).has_value());
  EXPECT_TRUE(jobs_->finish(a, "w1", {{"rank", 0}}, false));  // rank 0 first
  EXPECT_EQ(jobs_->get(a)->job.state, JobState::kRunning);    // rank 1 still logging
  EXPECT_TRUE(jobs_->append_logs(a, "w2", {"rank 1: last words"}));
  EXPECT_FALSE(jobs_->finish(a, "w3", {{"rank", 9}}, false));  // not one of its workers
  EXPECT_TRUE(jobs_->finish(a, "w2", {{"rank", 1}}, false));
  EXPECT_EQ(jobs_->get(a)->job.state, JobState::kSucceeded);
  EXPECT_EQ(jobs_->get(a)->job.result["rank"], 0);
  // A rank that fails after rank 0 succeeded fails the job.
  const std::string b = submit("b");
  ASSERT_TRUE(jobs_->start({b, {"w1", "w2"}}).has_value());
  EXPECT_TRUE(jobs_->finish(b, "w2", {{"rank", 1}}, false));
  EXPECT_TRUE(jobs_->fail(b, "w1", "rank 0 diverged"));
  EXPECT_EQ(jobs_->get(b)->job.state, JobState::kFailed);
}

TEST_F(JobManagerTest, UnschedulableReasonsFollowTheLatestPass) {
  const std::string a = submit("a"), b = submit("b");
  const int64_t sa = jobs_->get(a)->job.seq, sb = jobs_->get(b)->job.seq;
  jobs_->set_unschedulable({{a, sa, "no live workers"}, {b, sb, "no live workers"}});
  EXPECT_EQ(jobs_->get(a)->unschedulable, "no live workers");
  jobs_->set_unschedulable({{b, sb, "needs 64 cores per worker; the largest worker has 8"}});
  EXPECT_EQ(jobs_->get(a)->unschedulable, "");
  EXPECT_EQ(jobs_->get(b)->unschedulable, "needs 64 cores per worker; the largest worker has 8");
  jobs_->start({b, {"w1"}});
  EXPECT_EQ(jobs_->get(b)->unschedulable, "");  // only pending jobs carry one
  jobs_->set_unschedulable({});
  EXPECT_EQ(jobs_->get(a)->unschedulable, "");
}

}  // namespace
}  // namespace ringmaster::coordinator
