// The SQLite job store: WAL mode, round trips, ids never reused, log lines,
// and durability: a job put by a process that is then killed with SIGKILL
// (no close, no destructor) is there when the store is opened again.
#include "coordinator/job_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <filesystem>

#include "test_dir.h"

namespace ringmaster::coordinator {
namespace {

Job make_job(int64_t seq, JobState state = JobState::kPending) {
  Job j;
  j.seq = seq;
  j.id = "job-" + std::to_string(seq);
  j.name = "n" + std::to_string(seq);
  j.priority = seq % 3;
  j.state = state;
  j.spec = {{"name", j.name}, {"train", {{"epochs", 1}}}};
  j.submitted_ms = 1700000000000 + seq;
  j.idempotency_key = seq % 2 ? "key-" + std::to_string(seq) : "";
  j.request_hash = 0xfeedfacecafebeefull + static_cast<uint64_t>(seq);
  return j;
}

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("rm_store"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string db() const { return (dir_ / "state" / "jobs.db").string(); }
  std::filesystem::path dir_;
};

TEST_F(JobStoreTest, UsesWalAndRoundTripsEveryField) {
  {
    auto store = open_sqlite_job_store(db());
    Job j = make_job(7, JobState::kSucceeded);
    j.placement = {"w1"};
    j.result = {{"test_accuracy", 0.97}};
    j.reason = "";
    j.cancel_requested = true;
    j.started_ms = 5;
    j.finished_ms = 6;
    j.restarts = 2;
    store->put(j);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);

  auto store = open_sqlite_job_store(db());
  auto jobs = store->load_all();
  ASSERT_EQ(jobs.size(), 1u);
  const Job& j = jobs[0];
  EXPECT_EQ(j.id, "job-7");
  EXPECT_EQ(j.state, JobState::kSucceeded);
  EXPECT_EQ(j.placement, std::vector<std::string>{"w1"});
  EXPECT_EQ(j.result["test_accuracy"], 0.97);
  EXPECT_EQ(j.request_hash, 0xfeedfacecafebeefull + 7);
  EXPECT_TRUE(j.cancel_requested);
  EXPECT_EQ(j.restarts, 2);
  EXPECT_EQ(j.idempotency_key, "key-7");
}

TEST_F(JobStoreTest, SequenceNumbersAreNeverReused) {
  auto store = open_sqlite_job_store(db());
  EXPECT_EQ(store->next_seq(), 1);
  store->put(make_job(1));
  store->put(make_job(2));
  store->remove("job-2");
  EXPECT_EQ(store->next_seq(), 3);
  store.reset();
  EXPECT_EQ(open_sqlite_job_store(db())->next_seq(), 3);
}

TEST_F(JobStoreTest, OpensAStoreWrittenWithTheFormerSchema) {
  // Before: jobs keyed by id with a separate unique seq, and a counter bumped
  // on every put.
  {
    sqlite3* raw = nullptr;
    std::filesystem::create_directories(std::filesystem::path(db()).parent_path());
    ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    const std::string doc1 = job_to_json(make_job(1, JobState::kSucceeded)).dump();
    const std::string doc2 = job_to_json(make_job(2)).dump();
    const std::string sql =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL,"
        " doc TEXT NOT NULL);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES ('next_seq', 5);"
        "INSERT INTO jobs VALUES ('job-1', 1, 'SUCCEEDED', '" +
        doc1 +
        "');"
        "INSERT INTO jobs VALUES ('job-2', 2, 'PENDING', '" +
        doc2 + "');";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  auto store = open_sqlite_job_store(db());
  const std::vector<Job> jobs = store->load_all();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].id, "job-1");
  EXPECT_EQ(jobs[0].state, JobState::kSucceeded);
  EXPECT_EQ(jobs[1].id, "job-2");
  EXPECT_EQ(store->next_seq(), 5);  // the counter the old store kept
  Job changed = make_job(2, JobState::kRunning);
  store->put(changed);  // an update in place, not a second row
  EXPECT_EQ(store->load_all().size(), 2u);
  EXPECT_EQ(store->load_all()[1].state, JobState::kRunning);
}

TEST_F(JobStoreTest, LogLinesInOrderAndRemovedWithTheJob) {
  auto store = open_sqlite_job_store(db());
  store->put(make_job(1));
  store->append_log("job-1", 0, {"a", "b"});
  store->append_log("job-1", 2, {"c"});
  EXPECT_EQ(store->log_size("job-1"), 3);
  EXPECT_EQ(store->read_log("job-1", 1, 10), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(store->read_log("job-1", 0, 1), (std::vector<std::string>{"a"}));
  store->remove("job-1");
  EXPECT_EQ(store->log_size("job-1"), 0);
}

TEST_F(JobStoreTest, SurvivesSigkillRightAfterPut) {
  for (Durability d : {Durability::kFull, Durability::kNormal}) {
    std::filesystem::remove_all(dir_ / "state");
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = open_sqlite_job_store(db(), d);
      for (int i = 1; i <= 50; ++i)
        store->put(make_job(i, i % 2 ? JobState::kRunning : JobState::kPending));
      store->append_log("job-3", 0, {"line"});
      raise(SIGKILL);  // no destructors, no close: as kill -9 would
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    auto store = open_sqlite_job_store(db(), d);
    auto jobs = store->load_all();
    ASSERT_EQ(jobs.size(), 50u);
    for (int i = 1; i <= 50; ++i) {
      EXPECT_EQ(jobs[i - 1].id, "job-" + std::to_string(i));
      EXPECT_EQ(jobs[i - 1].state, i % 2 ? JobState::kRunning : JobState::kPending);
    }
    EXPECT_EQ(store->log_size("job-3"), 1);
    EXPECT_EQ(store->next_seq(), 51);
  }
}

TEST_F(JobStoreTest, UnopenableStoreIsAStoreError) {
  std::filesystem::create_directories(dir_ / "state" / "jobs.db");  // a folder, not a file
  EXPECT_THROW(open_sqlite_job_store(db()), StoreError);
}

}  // namespace
}  // namespace ringmaster::coordinator
