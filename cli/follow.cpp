// follow_job (see follow.h): a paced poll of GET /v1/jobs/{id} and its logs
// (four times a second), with log lines and epoch reports interleaved in the
// order the worker produced them.
#include "cli/follow.h"

#include <chrono>
#include <thread>

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/progress_display.h"
#include "cli/test_headline.h"
#include "worker/progress_json.h"

namespace ringmaster::cli {
namespace {

using std::chrono::milliseconds;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string result_line(const nlohmann::json& job) {
  const std::string id = job.value("id", "?"), state = job.value("state", "?");
  std::string line = id + " " + state;
  std::string where;
  if (job.contains("placement") && job["placement"].is_array()) {
    for (const auto& w : job["placement"])
      if (w.is_string()) where += (where.empty() ? " on " : ", ") + w.get<std::string>();
  }
  if (state == "SUCCEEDED" && job.contains("result") && job["result"].is_object()) {
    const comm::ResultReport r = comm::read_result_report(job["result"]);
    line += ": " + test_headline(r.test_figures, r.test_accuracy.value_or(0.0), r.test_mean_iou) +
            ", train loss " + fmt("%.4f", r.train_loss.value_or(0.0)) + ", " +
            std::to_string(r.epochs.value_or(0)) + " epochs, " +
            fmt("%.0f", r.images_per_second.value_or(0.0)) +
            (r.sample_unit == "seq" ? " seq" : " img") + "/s, " +
            fmt("%.1f", r.wall_seconds.value_or(0.0)) + " s" + where;
  } else if (job.contains("reason") && job["reason"].is_string()) {
    line += ": " + job["reason"].get<std::string>();
  }
  return line;
}

int follow_job(HttpClient& client, const std::string& id, std::FILE* out, bool terminal,
               const std::atomic<bool>* interrupted) {
  ProgressDisplay display(out, terminal);
  int64_t next_line = 0;
  int64_t last_epoch = 0;
  std::string last_wait;
  int failures = 0;
  std::vector<std::string> lines;  // fetched, not yet shown
  const std::string path = job_path(id);
  for (;;) {
    if (interrupted && interrupted->load()) {
      std::fprintf(out,
                   "\nstopped following %s; it keeps running (`ringmaster cancel %s` stops it)\n",
                   id.c_str(), id.c_str());
      return kExitInterrupted;
    }
    HttpResult job_r, logs_r;
    try {
      job_r = client.request("GET", path);
      if (job_r.status == 200)
        logs_r = client.request("GET", path + "/logs?since=" + std::to_string(next_line));
      failures = 0;
    } catch (const ConnectionError& e) {
      if (++failures > 60) {
        std::fprintf(stderr, "\nringmaster: lost the coordinator: %s\n", e.what());
        return kExitConnection;
      }
      std::this_thread::sleep_for(milliseconds(500));
      continue;
    }
    if (job_r.status == 404) {
      std::fprintf(stderr, "ringmaster: job %s is gone (deleted?)\n", id.c_str());
      return kExitFailed;
    }
    if (job_r.status != 200) return report_http_error("follow", job_r);
    const nlohmann::json job = job_r.json();
    const int64_t first = next_line;
    if (logs_r.status == 200) {
      size_t start = 0;
      while (start < logs_r.body.size()) {
        size_t nl = logs_r.body.find('\n', start);
        if (nl == std::string::npos) nl = logs_r.body.size();
        lines.push_back(logs_r.body.substr(start, nl - start));
        start = nl + 1;
      }
      const std::string next = logs_r.header("x-next-line");
      if (!next.empty()) next_line = std::stoll(next);
    }
    // Interleave: each epoch report goes after the log lines that came before it.
    int64_t shown_upto = first;
    size_t li = 0;
    // The job keeps its most recent epoch reports; show those not shown yet.
    const nlohmann::json epochs = job.value("epochs", nlohmann::json::array());
    for (const auto& e : epochs) {
      const training::EpochReport report = worker::from_report(comm::read_epoch_report(e));
      if (report.epoch <= last_epoch) continue;
      last_epoch = report.epoch;
      const int64_t at = e.is_object() ? e.value("log_line", int64_t{0}) : 0;  // the coordinator's
      for (; li < lines.size() && shown_upto < at; ++li, ++shown_upto) display.on_log(lines[li]);
      display.on_epoch(report);
    }
    for (; li < lines.size(); ++li) display.on_log(lines[li]);
    lines.clear();

    const std::string state = job.value("state", "");
    if (state == "PENDING") {
      std::string wait = job.contains("unschedulable") && job["unschedulable"].is_string()
                             ? "waiting: unschedulable: " + job["unschedulable"].get<std::string>()
                             : "queued";
      if (wait != last_wait) {
        std::fprintf(out, "%s %s\n", id.c_str(), wait.c_str());
        std::fflush(out);
        last_wait = wait;
      }
    } else if (state == "RUNNING") {
      // The bar of an epoch already reported in full would only repeat it.
      const training::StepProgress step =
          worker::from_report(comm::read_step_report(job.value("progress", nlohmann::json())));
      if (step.epoch > last_epoch) display.on_step(step);
    } else if (!state.empty()) {
      if (logs_r.header("x-job-finished") == "false") continue;  // lines still to fetch
      display.on_log(result_line(job));
      return state == "SUCCEEDED" ? kExitOk : kExitFailed;
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
}

}  // namespace ringmaster::cli
