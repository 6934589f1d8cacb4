// The REST request handlers: each parses and validates its request, calls
// the JobManager or WorkerRegistry, and turns the outcome into a response.
// No state and no decisions of their own. Also checks the bearer token (every
// endpoint but /healthz when one is set). Thread-safe: called concurrently
// from the HTTP server's I/O threads.
#pragma once

#include <functional>
#include <string>

#include "coordinator/http_server.h"
#include "coordinator/job_manager.h"
#include "coordinator/metrics.h"
#include "coordinator/submission.h"
#include "coordinator/worker_registry.h"

namespace ringmaster::coordinator {

struct RestOptions {
  std::string token;  // empty: no authentication
  SubmissionPolicy policy;
  // The Prometheus text GET /metrics serves (empty function: 404).
  std::function<std::string()> metrics_text;
  CoordinatorMetrics* metrics = nullptr;  // borrowed, may be null: submission counts
};

class RestApi {
 public:
  // Borrows the managers; they must outlive it.
  RestApi(JobManager& jobs, WorkerRegistry& workers, RestOptions options);
  // The router: authentication, then one handler per route; 404 / 405 else.
  HttpResponse handle(const HttpRequest& req) const;

 private:
  HttpResponse submit(const HttpRequest& req) const;
  HttpResponse list_jobs(const HttpRequest& req) const;
  HttpResponse get_job(const std::string& id) const;
  HttpResponse job_logs(const HttpRequest& req, const std::string& id) const;
  HttpResponse cancel_job(const std::string& id) const;
  HttpResponse delete_job(const std::string& id) const;
  HttpResponse list_workers() const;
  HttpResponse metrics() const;
  HttpResponse reject(Rejection why, HttpResponse r) const;

  JobManager& jobs_;
  WorkerRegistry& workers_;
  RestOptions options_;
};

// The API's JSON for a job: full, or the summary used in lists.
nlohmann::json job_json(const JobView& v, bool full);

}  // namespace ringmaster::coordinator
