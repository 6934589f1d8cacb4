// Tables and details for jobs and workers (see job_text.h).
#include "cli/job_text.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cli/follow.h"
#include "cli/progress_display.h"
#include "cli/test_headline.h"
#include "worker/progress_json.h"

namespace ringmaster::cli {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string join(const nlohmann::json& arr) {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& e : arr) {
    if (!out.empty()) out += ',';
    out += e.is_string() ? e.get<std::string>() : e.dump();
  }
  return out;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
  return buf;
}

std::string note(const nlohmann::json& j) {
  const std::string state = str(j, "state");
  if (state == "RUNNING" && j.contains("progress") && j["progress"].is_object())
    return progress_text(j["progress"]) +
           (j.value("cancel_requested", false) ? " (cancelling)" : "");
  if (state == "PENDING" && j.contains("unschedulable"))
    return "unschedulable: " + str(j, "unschedulable");
  if (state == "SUCCEEDED" && j.contains("result") && j["result"].is_object()) {
    const comm::ResultReport r = comm::read_result_report(j["result"]);
    return test_headline(r.test_figures, r.test_accuracy.value_or(0.0), r.test_mean_iou);
  }
  return str(j, "reason");
}

}  // namespace

std::string progress_text(const nlohmann::json& report) {
  const training::StepProgress p = worker::from_report(comm::read_step_report(report));
  char buf[200];
  std::snprintf(buf, sizeof buf, "epoch %lld/%lld step %lld/%lld loss %.4f acc %s %.0f %s/s ETA %s",
                static_cast<long long>(p.epoch), static_cast<long long>(p.epochs),
                static_cast<long long>(p.step), static_cast<long long>(p.steps_per_epoch), p.loss,
                pct(p.accuracy).c_str(), p.samples_per_second, p.sample_unit.c_str(),
                format_duration(p.eta_seconds).c_str());
  return buf;
}

std::string jobs_table(const nlohmann::json& jobs) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "STATE", "PRIORITY", "SUBMITTED", "WORKERS", "NOTE"}};
  for (const auto& j : jobs)
    rows.push_back({str(j, "id"), str(j, "name"), str(j, "state"), str(j, "priority"),
                    str(j, "submitted_at"), join(j.value("placement", nlohmann::json::array())),
                    note(j)});
  if (jobs.empty()) return "no jobs\n";
  return table(rows);
}

std::string job_details(const nlohmann::json& j) {
  std::string out = str(j, "id") + " (" + str(j, "name") + "): " + str(j, "state");
  const std::string placement = join(j.value("placement", nlohmann::json::array()));
  if (!placement.empty()) out += " on " + placement;
  out += "\n";
  const auto& res = j.value("resources", nlohmann::json::object());
  out += "  priority " + str(j, "priority") + ", " + str(res, "workers") + " worker(s) x " +
         str(res, "cores") + " core(s), " + str(res, "gpus") + " GPU(s), restarts " +
         str(j, "restarts");
  const auto& policy = j.value("restart_policy", nlohmann::json::object());
  if (policy.is_object() && policy.contains("max_restarts"))
    out += " of at most " + str(policy, "max_restarts");
  if (j.value("restarts", 0) > 0) out += ", " + str(j, "steps_redone") + " step(s) redone";
  out += "\n";
  const auto& reasons = j.value("restart_reasons", nlohmann::json::array());
  if (reasons.is_array())
    for (const auto& r : reasons)
      if (r.is_string()) out += "  " + r.get<std::string>() + "\n";
  out += "  submitted " + str(j, "submitted_at");
  if (!str(j, "started_at").empty()) out += ", started " + str(j, "started_at");
  if (!str(j, "finished_at").empty()) out += ", finished " + str(j, "finished_at");
  out += "\n";
  if (j.contains("progress") && j["progress"].is_object())
    out += "  progress: " + progress_text(j["progress"]) + "\n";
  if (j.contains("unschedulable")) out += "  unschedulable: " + str(j, "unschedulable") + "\n";
  if (j.value("cancel_requested", false) && str(j, "state") == "RUNNING")
    out += "  cancel requested\n";
  const std::string state = str(j, "state");
  if (state == "SUCCEEDED" || state == "FAILED" || state == "CANCELLED")
    out += "  " + result_line(j) + "\n";
  if (j.contains("result") && j["result"].is_object())
    if (const auto checkpoint = comm::read_result_report(j["result"]).checkpoint)
      out += "  checkpoint: " + *checkpoint + "\n";
  out += "  log: " + str(j, "log_lines") + " lines (`ringmaster logs " + str(j, "id") + "`)\n";
  return out;
}

std::string workers_table(const nlohmann::json& workers) {
  if (workers.empty()) return "no workers\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "HOST", "CORES", "GPUS", "MEMORY", "TASKS", "LAST SEEN"}};
  for (const auto& w : workers) {
    char mem[32];
    std::snprintf(mem, sizeof mem, "%.1f GiB",
                  static_cast<double>(w.value("memory_bytes", int64_t{0})) / (1 << 30));
    std::string state = str(w, "state");
    if (w.contains("reason")) state += " (" + str(w, "reason") + ")";
    rows.push_back({str(w, "id"), state, str(w, "hostname"), str(w, "cores"), str(w, "gpus"), mem,
                    join(w.value("tasks", nlohmann::json::array())), str(w, "last_seen_at")});
  }
  return table(rows);
}

}  // namespace ringmaster::cli
