// CoordinatorMetrics on its own (per-job series from progress reports, the
// retention sweep on a fake clock, transition counters) and through a real
// coordinator over HTTP (every job state at 0 from start-up, submissions and
// rejections by reason).
#include "coordinator/metrics.h"

#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include <set>

#include "comm/metrics.h"
#include "coordinator_fixture.h"

namespace ringmaster::coordinator {
namespace {

using namespace std::chrono_literals;

std::string text(const CoordinatorMetrics& m) { return comm::metrics_text({m.registry()}); }
bool has(const std::string& text, const std::string& s) {
  return text.find(s) != std::string::npos;
}

TEST(CoordinatorMetrics, ProgressReportsBecomePerJobSeries) {
  CoordinatorMetrics m(10min);
  m.on_progress("job-1", "step",
                {{"epoch", 1},
                 {"loss", 2.5},
                 {"accuracy", 0.25},
                 {"lr", 0.01},
                 {"samples_total", 100},
                 {"step_seconds", {0.01, 0.02, 0.03}}});
  m.on_progress("job-1", "step", {{"samples_total", 250}, {"step_seconds", {0.5}}});
  const std::string t = text(m);
  EXPECT_TRUE(has(t, "ringmaster_job_loss{job_id=\"job-1\",split=\"train\"} 2.5")) << t;
  EXPECT_TRUE(has(t, "ringmaster_job_accuracy_ratio{job_id=\"job-1\",split=\"train\"} 0.25"));
  EXPECT_TRUE(has(t, "ringmaster_job_learning_rate{job_id=\"job-1\"} 0.01"));
  EXPECT_TRUE(has(t, "ringmaster_job_samples_total{job_id=\"job-1\"} 250"));
  EXPECT_TRUE(has(t, "ringmaster_job_step_seconds_count{job_id=\"job-1\"} 4"));
  EXPECT_TRUE(has(t, "ringmaster_job_step_seconds_bucket{job_id=\"job-1\",le=\"0.025\"} 2"));
  EXPECT_FALSE(has(t, "split=\"test\""));  // no epoch finished yet

  m.on_progress("job-1", "epoch",
                {{"epoch", 1}, {"train_loss", 2.0}, {"test_loss", 1.5}, {"test_accuracy", 0.5}});
  // The task started again (a restart): its running total begins at 0.
  m.on_progress("job-1", "step", {{"samples_total", 40}, {"loss", "garbage"}});
  const std::string u = text(m);
  EXPECT_TRUE(has(u, "ringmaster_job_loss{job_id=\"job-1\",split=\"test\"} 1.5")) << u;
  EXPECT_TRUE(has(u, "ringmaster_job_accuracy_ratio{job_id=\"job-1\",split=\"test\"} 0.5"));
  EXPECT_TRUE(has(u, "ringmaster_job_loss{job_id=\"job-1\",split=\"train\"} 2\n"));
  EXPECT_TRUE(has(u, "ringmaster_job_samples_total{job_id=\"job-1\"} 290"));
}

TEST(CoordinatorMetrics, ATasksOwnTestFiguresBecomeSeriesByName) {
  CoordinatorMetrics m(30s);
  m.on_progress(
      "lm", "epoch",
      {{"test_loss", 1.7}, {"test_figures", {{"perplexity", 5.5}, {"bits_per_char", 2.46}}}});
  m.on_progress("lm", "epoch", {{"test_figures", {{"perplexity", 5.25}, {"Bad Name", 1.0}}}});
  const std::string t = text(m);
  EXPECT_TRUE(has(t, "ringmaster_job_test_figure{figure=\"perplexity\",job_id=\"lm\"} 5.25")) << t;
  EXPECT_TRUE(has(t, "ringmaster_job_test_figure{figure=\"bits_per_char\",job_id=\"lm\"} 2.46"));
  EXPECT_FALSE(has(t, "Bad Name"));
  const auto t0 = CoordinatorMetrics::Clock::time_point{} + 1h;
  m.sweep(t0, [](const std::string&) { return false; });
  m.sweep(t0 + 31s, [](const std::string&) { return false; });
  EXPECT_FALSE(has(text(m), "ringmaster_job_test_figure{")) << text(m);
}

TEST(CoordinatorMetrics, AFinishedJobsSeriesLeaveAfterTheRetention) {
  CoordinatorMetrics m(30s);
  m.on_progress("job-1", "step", {{"loss", 1.0}, {"samples_total", 10}});
  m.on_progress("job-2", "step", {{"loss", 1.0}});
  m.on_progress("job-2", "epoch", {{"test_loss", 1.0}, {"test_accuracy", 0.5}});
  std::set<std::string> running = {"job-1", "job-2"};
  auto is_running = [&](const std::string& id) { return running.count(id) > 0; };
  const auto t0 = CoordinatorMetrics::Clock::time_point{} + 1h;
  m.sweep(t0, is_running);
  EXPECT_EQ(m.tracked_jobs(), 2u);

  running.erase("job-2");         // job-2 ends
  m.sweep(t0 + 1s, is_running);   // seen stopped now
  m.sweep(t0 + 30s, is_running);  // 29 s later: kept
  EXPECT_EQ(m.tracked_jobs(), 2u);
  EXPECT_TRUE(has(text(m), "job_id=\"job-2\""));
  m.sweep(t0 + 31s, is_running);  // 30 s: gone, every series of it
  EXPECT_EQ(m.tracked_jobs(), 1u);
  const std::string t = text(m);
  EXPECT_FALSE(has(t, "job_id=\"job-2\"")) << t;
  EXPECT_TRUE(has(t, "ringmaster_job_loss{job_id=\"job-1\",split=\"train\"} 1")) << t;

  // A job that runs again before the retention ends keeps its series.
  running.erase("job-1");
  m.sweep(t0 + 40s, is_running);
  running.insert("job-1");
  m.sweep(t0 + 60s, is_running);
  running.erase("job-1");
  m.sweep(t0 + 61s, is_running);
  m.sweep(t0 + 90s, is_running);
  EXPECT_EQ(m.tracked_jobs(), 1u);
  m.sweep(t0 + 91s, is_running);
  EXPECT_EQ(m.tracked_jobs(), 0u);
}

TEST(CoordinatorMetrics, TransitionsCountStartsRequeuesAndEnds) {
  CoordinatorMetrics m;
  m.transition(JobState::kPending, JobState::kRunning);
  m.transition(JobState::kRunning, JobState::kPending);
  m.transition(JobState::kPending, JobState::kRunning);
  m.transition(JobState::kRunning, JobState::kFailed);
  m.transition(JobState::kPending, JobState::kCancelled);
  const std::string t = text(m);
  EXPECT_TRUE(has(t, "ringmaster_jobs_started_total 2")) << t;
  EXPECT_TRUE(has(t, "ringmaster_job_restarts_total 1"));
  EXPECT_TRUE(has(t, "ringmaster_jobs_finished_total{state=\"FAILED\"} 1"));
  EXPECT_TRUE(has(t, "ringmaster_jobs_finished_total{state=\"CANCELLED\"} 1"));
  EXPECT_TRUE(has(t, "ringmaster_jobs_finished_total{state=\"SUCCEEDED\"} 0"));
}

class MetricsEndpoint : public testing_support::CoordinatorFixture {};

TEST_F(MetricsEndpoint, EveryFamilyIsThereFromStartUp) {
  start();
  const auto r = get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* s : {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"})
    EXPECT_TRUE(has(r.body, std::string("ringmaster_jobs{state=\"") + s + "\"} 0")) << s;
  for (const char* s :
       {"ringmaster_workers{state=\"idle\"} 0", "ringmaster_workers{state=\"dead\"} 0",
        "ringmaster_jobs_submitted_total 0",
        "ringmaster_jobs_rejected_total{reason=\"invalid_spec\"} 0",
        "ringmaster_scheduling_decision_seconds_count",
        "ringmaster_comm_duration_seconds_count{compression=\"none\",mode=\"allreduce\"} 0",
        "ringmaster_comm_wire_bytes_total{compression=\"fp16\",mode=\"ps\"} 0",
        "process_cpu_seconds_total", "ringmaster_control_bad_messages_total 0"})
    EXPECT_TRUE(has(r.body, s)) << s << "\n" << r.body;
  // Per-job families have no series until a job reports: none before.
  EXPECT_FALSE(has(r.body, "job_id=")) << r.body;
}

TEST_F(MetricsEndpoint, SubmissionsAndRejectionsByReason) {
  options_.token = "s3cret";
  start();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer s3cret"}, {"Content-Type", "application/json"}};
  EXPECT_EQ(post("/v1/jobs", spec("a").dump(), auth).status, 201);
  EXPECT_EQ(post("/v1/jobs", R"({"train": {"epochs": 0}})", auth).status, 400);
  EXPECT_EQ(post("/v1/jobs", R"({"nme": 1})", auth).status, 400);
  EXPECT_EQ(post("/v1/jobs", spec("b").dump(),
                 {{"Content-Type", "text/csv"}, {"Authorization", "Bearer s3cret"}})
                .status,
            415);
  EXPECT_EQ(post("/v1/jobs", spec("c").dump(), {{"Authorization", "Bearer nope"}}).status, 401);
  EXPECT_EQ(get("/v1/jobs", {{"Authorization", "Bearer nope"}}).status, 401);  // not a submission
  auto key = auth;
  key.emplace_back("Idempotency-Key", "k1");
  EXPECT_EQ(post("/v1/jobs", spec("d").dump(), key).status, 201);
  EXPECT_EQ(post("/v1/jobs", spec("d").dump(), key).status, 200);  // a replay: not counted
  EXPECT_EQ(post("/v1/jobs", spec("e").dump(), key).status, 422);
  const std::string m = get("/metrics", {{"Authorization", "Bearer s3cret"}}).body;
  EXPECT_TRUE(has(m, "ringmaster_jobs_submitted_total 2")) << m;
  EXPECT_TRUE(has(m, "ringmaster_jobs_rejected_total{reason=\"invalid_spec\"} 2")) << m;
  EXPECT_TRUE(has(m, "ringmaster_jobs_rejected_total{reason=\"unsupported_media_type\"} 1"));
  EXPECT_TRUE(has(m, "ringmaster_jobs_rejected_total{reason=\"unauthorized\"} 1"));
  EXPECT_TRUE(has(m, "ringmaster_jobs_rejected_total{reason=\"idempotency_conflict\"} 1"));
  EXPECT_TRUE(has(m, "ringmaster_jobs_rejected_total{reason=\"bad_request\"} 0"));
}

}  // namespace
}  // namespace ringmaster::coordinator
