// The coordinator's metrics (see metrics.h).
#include "coordinator/metrics.h"

#include "comm/progress_report.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "comm/metrics.h"
#include "coordinator/job_manager.h"
#include "coordinator/worker_registry.h"

namespace ringmaster::coordinator {
namespace {

constexpr JobState kStates[] = {JobState::kPending, JobState::kRunning, JobState::kSucceeded,
                                JobState::kFailed, JobState::kCancelled};
constexpr Rejection kRejections[] = {
    Rejection::kInvalidSpec,  Rejection::kBadRequest,          Rejection::kUnsupportedMediaType,
    Rejection::kUnauthorized, Rejection::kIdempotencyConflict, Rejection::kStoreUnavailable,
    Rejection::kStoreFull};

prometheus::MetricFamily family(const std::string& name, const std::string& help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void sample(prometheus::MetricFamily& f, double value,
            std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

class ClusterCollector : public prometheus::Collectable {
 public:
  ClusterCollector(const JobManager& jobs, const WorkerRegistry& workers,
                   std::function<ControlCounters()> control)
      : jobs_(jobs), workers_(workers), control_(std::move(control)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    auto jobs = family("ringmaster_jobs", "Jobs by state.", MetricType::Gauge);
    for (const auto& [state, n] : jobs_.counts())
      sample(jobs, static_cast<double>(n), {{"state", to_string(state)}});
    out.push_back(std::move(jobs));
    auto unschedulable =
        family("ringmaster_jobs_unschedulable",
               "Pending jobs that no cluster of today's workers could hold.", MetricType::Gauge);
    sample(unschedulable, static_cast<double>(jobs_.unschedulable_count()));
    out.push_back(std::move(unschedulable));

    auto workers = family("ringmaster_workers",
                          "Workers by state: idle and busy (alive, with no task or with one), "
                          "dead (silent for the heartbeat timeout, or gone).",
                          MetricType::Gauge);
    auto age = family("ringmaster_worker_last_heartbeat_age_seconds",
                      "Seconds since each known worker was last heard from.", MetricType::Gauge);
    double idle = 0, busy = 0, dead = 0;
    const int64_t now = now_unix_ms();
    for (const WorkerInfo& w : workers_.list()) {
      (w.alive ? (w.tasks.empty() ? idle : busy) : dead) += 1;
      sample(age, std::max<int64_t>(0, now - w.last_seen_ms) / 1000.0, {{"worker_id", w.id}});
    }
    sample(workers, idle, {{"state", "idle"}});
    sample(workers, busy, {{"state", "busy"}});
    sample(workers, dead, {{"state", "dead"}});
    out.push_back(std::move(workers));
    out.push_back(std::move(age));

    if (control_) {
      const ControlCounters c = control_();
      auto received = family("ringmaster_control_messages_received_total",
                             "Control-plane messages received.", MetricType::Counter);
      sample(received, static_cast<double>(c.received));
      auto sent = family("ringmaster_control_messages_sent_total", "Control-plane messages sent.",
                         MetricType::Counter);
      sample(sent, static_cast<double>(c.sent));
      auto failures =
          family("ringmaster_control_send_failures_total",
                 "Control-plane messages that could not be sent (peer gone or its queue full).",
                 MetricType::Counter);
      sample(failures, static_cast<double>(c.send_failures));
      auto bad = family("ringmaster_control_bad_messages_total",
                        "Control-plane messages that failed validation.", MetricType::Counter);
      sample(bad, static_cast<double>(c.bad_messages));
      auto by_code = family("ringmaster_control_bad_messages_by_code_total",
                            "Control-plane messages that failed validation, by error code.",
                            MetricType::Counter);
      for (const auto& [code, n] : c.bad_by_code)
        sample(by_code, static_cast<double>(n), {{"code", code}});
      auto refused = family("ringmaster_control_auth_refused_total",
                            "CURVE handshakes refused on the control plane (a key not in the "
                            "allowlist).",
                            MetricType::Counter);
      sample(refused, static_cast<double>(c.auth_refused));
      auto accepted =
          family("ringmaster_control_auth_accepted_total",
                 "CURVE handshakes accepted on the control plane.", MetricType::Counter);
      sample(accepted, static_cast<double>(c.auth_accepted));
      for (auto* f : {&received, &sent, &failures, &bad, &by_code, &refused, &accepted})
        out.push_back(std::move(*f));
    }
    return out;
  }

 private:
  const JobManager& jobs_;
  const WorkerRegistry& workers_;
  std::function<ControlCounters()> control_;
};

}  // namespace

const char* to_string(Rejection r) {
  switch (r) {
    case Rejection::kInvalidSpec:
      return "invalid_spec";
    case Rejection::kBadRequest:
      return "bad_request";
    case Rejection::kUnsupportedMediaType:
      return "unsupported_media_type";
    case Rejection::kUnauthorized:
      return "unauthorized";
    case Rejection::kIdempotencyConflict:
      return "idempotency_conflict";
    case Rejection::kStoreUnavailable:
      return "store_unavailable";
    case Rejection::kStoreFull:
      return "store_full";
  }
  return "unknown";
}

struct CoordinatorMetrics::JobSeries {
  prometheus::Labels labels;
  prometheus::Gauge* loss_train = nullptr;
  prometheus::Gauge* loss_test = nullptr;
  prometheus::Gauge* accuracy_train = nullptr;
  prometheus::Gauge* accuracy_test = nullptr;
  prometheus::Counter* samples = nullptr;
  prometheus::Histogram* step_seconds = nullptr;
  prometheus::Gauge* lr = nullptr;
  prometheus::Gauge* epoch = nullptr;
  std::map<std::string, prometheus::Gauge*> figures;  // by figure name (bounded by the reports)
  double samples_reported = 0;                        // the task's running total at the last report
  bool stopped = false;
  Clock::time_point stopped_at{};
};

CoordinatorMetrics::CoordinatorMetrics(std::chrono::milliseconds job_retention)
    : retention_(job_retention), registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  submitted_ = &BuildCounter()
                    .Name("ringmaster_jobs_submitted_total")
                    .Help("Jobs accepted by POST /v1/jobs (an idempotent replay counts once).")
                    .Register(*registry_)
                    .Add({});
  auto& rejected = BuildCounter()
                       .Name("ringmaster_jobs_rejected_total")
                       .Help("Submissions refused, by reason.")
                       .Register(*registry_);
  for (Rejection r : kRejections) rejected_[r] = &rejected.Add({{"reason", to_string(r)}});
  started_ = &BuildCounter()
                  .Name("ringmaster_jobs_started_total")
                  .Help("Jobs placed on workers (PENDING -> RUNNING).")
                  .Register(*registry_)
                  .Add({});
  restarts_ = &BuildCounter()
                   .Name("ringmaster_job_restarts_total")
                   .Help(
                       "Jobs put back in the queue after they started (RUNNING -> PENDING): a "
                       "worker died, a rank lost its peer, or the gang could not be assembled.")
                   .Register(*registry_)
                   .Add({});
  steps_redone_ = &BuildCounter()
                       .Name("ringmaster_job_steps_redone_total")
                       .Help(
                           "Steps restarted jobs trained again: the steps of the last report "
                           "before each restart less the checkpoint step it resumed from.")
                       .Register(*registry_)
                       .Add({});
  auto& finished = BuildCounter()
                       .Name("ringmaster_jobs_finished_total")
                       .Help("Jobs that ended, by final state.")
                       .Register(*registry_);
  for (JobState s : kStates)
    if (is_terminal(s)) finished_[s] = &finished.Add({{"state", to_string(s)}});
  scheduling_ = &BuildHistogram()
                     .Name("ringmaster_scheduling_decision_seconds")
                     .Help(
                         "Wall time of one scheduling decision (cluster snapshot, queue, "
                         "placements), not counting the store writes that follow.")
                     .Register(*registry_)
                     .Add({}, Histogram::BucketBoundaries{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
                                                          1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2,
                                                          0.1, 0.25, 0.5, 1});
  loss_ = &BuildGauge()
               .Name("ringmaster_job_loss")
               .Help(
                   "Training loss (split=train: running mean over the epoch so far) and test "
                   "loss (split=test: after the last finished epoch).")
               .Register(*registry_);
  accuracy_ = &BuildGauge()
                   .Name("ringmaster_job_accuracy_ratio")
                   .Help(
                       "Accuracy, 0..1 (split=train: running, this epoch; split=test: after "
                       "the last finished epoch; per pixel for segmentation).")
                   .Register(*registry_);
  figure_ = &BuildGauge()
                 .Name("ringmaster_job_test_figure")
                 .Help(
                     "A task's own test figure after the last finished epoch, by name (language "
                     "models: perplexity, bits_per_char).")
                 .Register(*registry_);
  samples_ = &BuildCounter()
                  .Name("ringmaster_job_samples_total")
                  .Help("Training samples the job has stepped through.")
                  .Register(*registry_);
  step_seconds_ = &BuildHistogram()
                       .Name("ringmaster_job_step_seconds")
                       .Help("Wall time of one training step (forward, backward, update).")
                       .Register(*registry_);
  lr_ = &BuildGauge()
             .Name("ringmaster_job_learning_rate")
             .Help("Learning rate of the latest step.")
             .Register(*registry_);
  epoch_ = &BuildGauge()
                .Name("ringmaster_job_epoch")
                .Help("Epoch being trained (1-based).")
                .Register(*registry_);
}

CoordinatorMetrics::~CoordinatorMetrics() = default;

void CoordinatorMetrics::submitted() { submitted_->Increment(); }
void CoordinatorMetrics::rejected(Rejection why) { rejected_.at(why)->Increment(); }
void CoordinatorMetrics::observe_scheduling(double seconds) { scheduling_->Observe(seconds); }

void CoordinatorMetrics::steps_redone(int64_t steps) {
  steps_redone_->Increment(static_cast<double>(steps));
}

void CoordinatorMetrics::transition(JobState from, JobState to) {
  if (to == JobState::kRunning) started_->Increment();
  if (from == JobState::kRunning && to == JobState::kPending) restarts_->Increment();
  if (is_terminal(to) && !is_terminal(from)) finished_.at(to)->Increment();
}

CoordinatorMetrics::JobSeries& CoordinatorMetrics::series_locked(const std::string& job_id) {
  auto& slot = jobs_[job_id];
  if (slot) return *slot;
  slot = std::make_unique<JobSeries>();
  JobSeries& s = *slot;
  s.labels = {{"job_id", job_id}};
  auto with = [&](const char* k, const char* v) {
    prometheus::Labels l = s.labels;
    l[k] = v;
    return l;
  };
  s.loss_train = &loss_->Add(with("split", "train"));
  s.accuracy_train = &accuracy_->Add(with("split", "train"));
  s.samples = &samples_->Add(s.labels);
  s.step_seconds = &step_seconds_->Add(s.labels, comm::seconds_buckets());
  s.lr = &lr_->Add(s.labels);
  s.epoch = &epoch_->Add(s.labels);
  return s;
}

void CoordinatorMetrics::on_progress(const std::string& job_id, const std::string& kind,
                                     const nlohmann::json& report) {
  std::lock_guard lock(mu_);
  JobSeries& s = series_locked(job_id);
  // A field a report lacks leaves its series as it was.
  auto set = [](prometheus::Gauge* g, const auto& v) {
    if (v.has_value()) g->Set(static_cast<double>(*v));
  };
  if (kind == "step") {
    const comm::StepReport r = comm::read_step_report(report);
    set(s.lr, r.lr);
    set(s.epoch, r.epoch);
    set(s.loss_train, r.loss);
    set(s.accuracy_train, r.accuracy);
    if (r.samples_total) {
      // The task's running total: a smaller one means the task started again.
      const auto v = static_cast<double>(*r.samples_total);
      s.samples->Increment(v >= s.samples_reported ? v - s.samples_reported : v);
      s.samples_reported = v;
    }
    for (double t : r.step_seconds)
      if (t >= 0) s.step_seconds->Observe(t);
  } else if (kind == "epoch") {
    const comm::EpochReport r = comm::read_epoch_report(report);
    set(s.lr, r.lr);
    set(s.epoch, r.epoch);
    set(s.loss_train, r.train_loss);
    set(s.accuracy_train, r.train_accuracy);
    prometheus::Labels test = s.labels;
    test["split"] = "test";
    if (r.test_loss && !s.loss_test) s.loss_test = &loss_->Add(test);
    if (r.test_accuracy && !s.accuracy_test) s.accuracy_test = &accuracy_->Add(test);
    if (r.test_loss) s.loss_test->Set(*r.test_loss);
    if (r.test_accuracy) s.accuracy_test->Set(*r.test_accuracy);
    for (const auto& [name, value] : r.test_figures) {
      prometheus::Gauge*& g = s.figures[name];
      if (g == nullptr) {
        prometheus::Labels labels = s.labels;
        labels["figure"] = name;
        g = &figure_->Add(labels);
      }
      g->Set(value);
    }
  }
}

void CoordinatorMetrics::remove_locked(JobSeries& s) {
  loss_->Remove(s.loss_train);
  accuracy_->Remove(s.accuracy_train);
  if (s.loss_test) loss_->Remove(s.loss_test);
  if (s.accuracy_test) accuracy_->Remove(s.accuracy_test);
  for (const auto& [name, g] : s.figures) figure_->Remove(g);
  s.figures.clear();
  samples_->Remove(s.samples);
  step_seconds_->Remove(s.step_seconds);
  lr_->Remove(s.lr);
  epoch_->Remove(s.epoch);
}

void CoordinatorMetrics::sweep(Clock::time_point now,
                               const std::function<bool(const std::string&)>& running) {
  std::lock_guard lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    JobSeries& s = *it->second;
    if (running(it->first)) {
      s.stopped = false;
    } else if (!s.stopped) {
      s.stopped = true;
      s.stopped_at = now;
    }
    if (s.stopped && now - s.stopped_at >= retention_) {
      remove_locked(s);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t CoordinatorMetrics::tracked_jobs() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

std::shared_ptr<prometheus::Collectable> cluster_collector(
    const JobManager& jobs, const WorkerRegistry& workers,
    std::function<ControlCounters()> control_counters) {
  return std::make_shared<ClusterCollector>(jobs, workers, std::move(control_counters));
}

}  // namespace ringmaster::coordinator
