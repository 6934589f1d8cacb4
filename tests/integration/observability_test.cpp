// Metrics and dashboards against the real tools, with real processes on
// loopback: a coordinator and a worker run a short job; `promtool check
// metrics` must accept both /metrics pages; then Debian's Prometheus server
// scrapes the cluster every second and every PromQL expression of every
// dashboard panel and template variable (variables substituted) must return
// data through its HTTP API. Panels tagged "(needs: gpu)" are checked only
// where NVML reports a GPU; "(needs: multi-worker)" (communication) panels
// must return their series, which exist at 0 from start-up, but their values
// mean nothing until data-parallel training records operations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "../coordinator/raw_http.h"
#include "local_cluster_args.h"
#include "process.h"
#include "tests/detection_specs.h"
#include "tests/test_dir.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::Process;
using testing_support::RawHttp;
using Clock = std::chrono::steady_clock;

std::string source(const std::string& rel) { return std::string(RINGMASTER_SOURCE_DIR) + rel; }

const char* kFashion = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// A faster_rcnn small enough to train an epoch in seconds on 40 composites
// with 1 to 3 items, and report its mAP on 10 held-out ones.
nlohmann::json tiny_detection_spec() {
  return {{"name", "obs-detection"},
          {"model", testing_support::small_faster_rcnn()},
          {"data",
           {{"dataset", "fashion-composites"},
            {"targets", "boxes"},
            {"composites", {{"size", 56}, {"train", 40}, {"test", 10}, {"max_items", 3}}}}},
          {"train", {{"epochs", 1}, {"batch_size", 8}, {"threads", 1}, {"seed", 5}}},
          {"optimizer", {{"name", "sgd"}, {"lr", 0.01}, {"momentum", 0.9}}}};
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

bool program_exists(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// `promtool check metrics < file`: {exit code, output}.
std::pair<int, std::string> promtool_check_metrics(const fs::path& file) {
  const fs::path out = file.string() + ".promtool";
  const std::string cmd =
      "timeout 30 promtool check metrics < '" + file.string() + "' > '" + out.string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, testing_support::slurp(out.string())};
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(source("/data/digits.csv.gz")))
      GTEST_SKIP() << "data/digits.csv.gz missing: run scripts/install-deps.sh";
    // promtool and prometheus are test dependencies (scripts/install-deps.sh):
    // missing, they fail the test rather than skip it.
    ASSERT_TRUE(program_exists("promtool")) << "promtool missing: run scripts/install-deps.sh";
    ASSERT_TRUE(program_exists("prometheus")) << "prometheus missing: run scripts/install-deps.sh";
    dir_ = testing_support::fresh_test_dir("obs");
  }
  void TearDown() override {
    prometheus_.reset();
    worker_.reset();
    coordinator_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  template <typename Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      try {
        if (pred()) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // A coordinator and one worker; the worker's metrics port read from its log.
  void start_cluster(const std::vector<std::string>& extra = {}) {
    const std::vector<std::string> args =
        testing_support::coordinator_args(http_port_, zmq_port_, dir_, extra);
    coordinator_ = std::make_unique<Process>(args, path("coordinator.log"));
    ASSERT_TRUE(wait_until(
        [&] { return RawHttp(http_port_, 1000).request("GET", "/healthz").status == 200; }, 20s))
        << coordinator_->output();
    worker_ = std::make_unique<Process>(testing_support::worker_args(zmq_port_, "w1", dir_),
                                        path("worker.log"));
    const std::regex line(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)");
    ASSERT_TRUE(wait_until(
        [&] {
          std::smatch m;
          const std::string out = worker_->output();
          if (!std::regex_search(out, m, line)) return false;
          worker_metrics_port_ = static_cast<uint16_t>(std::stoi(m[1]));
          return true;
        },
        20s))
        << worker_->output();
    ASSERT_TRUE(wait_until(
        [&] {
          return RawHttp(http_port_).request("GET", "/v1/workers").json()["workers"].size() == 1;
        },
        20s));
  }

  // Submits a short digits job and waits for SUCCEEDED.
  void run_job(int epochs, int train_limit) {
    const nlohmann::json spec = {
        {"name", "obs"},
        {"data",
         {{"dataset", "digits"},
          {"path", source("/data/digits.csv.gz")},
          {"train_limit", train_limit},
          {"test_limit", 200}}},
        {"train", {{"epochs", epochs}, {"batch_size", 20}, {"threads", 1}, {"seed", 3}}}};
    job_id_ = run_spec(spec);
  }

  // Submits spec, waits for SUCCEEDED and returns the job's id.
  std::string run_spec(const nlohmann::json& spec) {
    const auto r =
        RawHttp(http_port_)
            .request("POST", "/v1/jobs", spec.dump(), {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    const std::string id = r.json()["id"];
    std::string state;
    EXPECT_TRUE(wait_until(
        [&] {
          state = RawHttp(http_port_).request("GET", "/v1/jobs/" + id).json()["state"];
          return state == "SUCCEEDED" || state == "FAILED";
        },
        90s))
        << "job " << id << " still " << state << "\n"
        << worker_->output();
    EXPECT_EQ(state, "SUCCEEDED") << worker_->output();
    return id;
  }

  std::string scrape(uint16_t port) {
    const auto r = RawHttp(port).request("GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }

  fs::path dir_;
  uint16_t http_port_ = testing_support::free_port();
  uint16_t zmq_port_ = testing_support::free_port();
  uint16_t worker_metrics_port_ = 0;
  std::string job_id_;
  std::unique_ptr<Process> coordinator_, worker_, prometheus_;
};

TEST_F(ObservabilityTest, PromtoolAcceptsTheLiveMetricsOfACoordinatorAndAWorker) {
  // The tool can fail: a counter without _total and with no help is refused.
  std::ofstream(path("bad.prom")) << "# TYPE requests counter\nrequests 1\n";
  EXPECT_NE(promtool_check_metrics(path("bad.prom")).first, 0);

  start_cluster({"--metrics-retention", "3"});
  // Every family is there from start-up, before any job.
  const std::string fresh = scrape(http_port_);
  for (const char* s : {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"})
    EXPECT_NE(fresh.find(std::string("ringmaster_jobs{state=\"") + s + "\"} 0"), std::string::npos)
        << s << "\n"
        << fresh;
  run_job(2, 600);
  ASSERT_FALSE(HasFailure());
  const std::string coord = scrape(http_port_);
  const std::string work = scrape(worker_metrics_port_);
  std::ofstream(path("coordinator.prom")) << coord;
  std::ofstream(path("worker.prom")) << work;
  auto [crc, cout] = promtool_check_metrics(path("coordinator.prom"));
  EXPECT_EQ(crc, 0) << cout;
  auto [wrc, wout] = promtool_check_metrics(path("worker.prom"));
  EXPECT_EQ(wrc, 0) << wout;

  const std::string j = "job_id=\"" + job_id_ + "\"";
  for (const std::string& s : std::vector<std::string>{
           "ringmaster_jobs{state=\"SUCCEEDED\"} 1",
           "ringmaster_jobs_finished_total{state=\"SUCCEEDED\"} 1",
           "ringmaster_jobs_submitted_total 1", "ringmaster_workers{state=\"idle\"} 1",
           "ringmaster_worker_last_heartbeat_age_seconds{worker_id=\"w1\"}",
           "ringmaster_scheduling_decision_seconds_count",
           "ringmaster_job_samples_total{" + j + "} 1200",     // 600 images x 2 epochs
           "ringmaster_job_step_seconds_count{" + j + "} 60",  // 30 steps x 2 epochs
           "ringmaster_job_accuracy_ratio{" + j + ",split=\"test\"}",
           "ringmaster_job_loss{" + j + ",split=\"train\"}",
           "ringmaster_job_learning_rate{" + j + "}",
           "ringmaster_comm_duration_seconds_count{compression=\"fp16\",mode=\"allreduce\"} 0",
           "process_cpu_seconds_total"})
    EXPECT_NE(coord.find(s), std::string::npos) << s << "\n" << coord;
  for (const std::string& s : std::vector<std::string>{
           "ringmaster_worker_tasks_total{outcome=\"succeeded\"} 1",
           "ringmaster_worker_info{hostname=", "ringmaster_worker_registered 1",
           "ringmaster_worker_samples_total 1200", "ringmaster_worker_step_seconds_count 60",
           "ringmaster_comm_wire_bytes_total{compression=\"none\",mode=\"ps\"} 0",
           "ringmaster_gpus ", "process_resident_memory_bytes"})
    EXPECT_NE(work.find(s), std::string::npos) << s << "\n" << work;

  // The finished job's series leave after the retention (3 s); the rest stay.
  std::string later;
  EXPECT_TRUE(wait_until(
      [&] {
        later = scrape(http_port_);
        return later.find(j) == std::string::npos;
      },
      15s))
      << later;
  EXPECT_NE(later.find("ringmaster_jobs_finished_total{state=\"SUCCEEDED\"} 1"), std::string::npos);
  EXPECT_NE(later.find("ringmaster_jobs{state=\"SUCCEEDED\"} 1"), std::string::npos) << later;
}

// One PromQL expression: its result vector, or a failure naming it.
struct QueryResult {
  bool ok = false;
  std::string error;
  nlohmann::json result = nlohmann::json::array();
  bool any_finite() const {
    for (const auto& r : result) {
      const std::string v = r["value"][1];
      const double d = std::strtod(v.c_str(), nullptr);
      if (v != "NaN" && std::isfinite(d)) return true;
    }
    return false;
  }
};

TEST_F(ObservabilityTest, EveryDashboardQueryReturnsDataFromARealPrometheus) {
  start_cluster();
  const uint16_t prom_port = testing_support::free_port();
  std::ofstream(path("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n"
      << "  - job_name: ringmaster-coordinator\n    static_configs:\n      - targets: "
         "['127.0.0.1:"
      << http_port_ << "']\n"
      << "  - job_name: ringmaster-workers\n    static_configs:\n      - targets: ['127.0.0.1:"
      << worker_metrics_port_ << "']\n";
  prometheus_ = std::make_unique<Process>(
      "prometheus",
      std::vector<std::string>{"--config.file=" + path("prometheus.yml"),
                               "--storage.tsdb.path=" + path("tsdb"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
                               "--storage.tsdb.retention.time=1h", "--log.level=warn"},
      path("prometheus.log"));
  auto query = [&](const std::string& expr) {
    QueryResult q;
    const auto r =
        RawHttp(prom_port, 10000).request("GET", "/api/v1/query?query=" + url_encode(expr));
    const nlohmann::json j = r.json();
    if (r.status != 200 || !j.is_object() || j.value("status", "") != "success") {
      q.error = "HTTP " + std::to_string(r.status) + ": " + r.body;
      return q;
    }
    q.ok = true;
    q.result = j["data"]["result"];
    return q;
  };
  ASSERT_TRUE(wait_until(
      [&] { return RawHttp(prom_port, 1000).request("GET", "/-/ready").status == 200; }, 30s))
      << prometheus_->output();
  ASSERT_TRUE(wait_until(
      [&] {
        return query("sum(up)").any_finite() && query("sum(up)").result[0]["value"][1] == "2";
      },
      30s))
      << "both targets up; prometheus log:\n"
      << prometheus_->output();

  // Long enough for a 1 s scrape to see it move, even on a busy machine
  // (20 epochs, about 2.5 s alone, failed 1 run in 20 beside a busy loop).
  constexpr int kEpochs = 60;
  run_job(kEpochs, 1200);
  ASSERT_FALSE(HasFailure());
  // Prometheus has the finished job once it scraped the last epoch, plus a
  // few more scrapes so rates over the window have points after it.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto q =
            query("ringmaster_job_epoch{job_id=\"" + job_id_ + "\"} == " + std::to_string(kEpochs));
        return q.ok && !q.result.empty();
      },
      30s));
  std::this_thread::sleep_for(3s);
  // Rates need the job seen moving: at least three scrapes while it trained.
  ASSERT_FALSE(query("changes(ringmaster_job_samples_total{job_id=\"" + job_id_ + "\"}[5m]) >= 2")
                   .result.empty())
      << "the job ran between two scrapes: make it longer";
  const std::string history =
      query("ringmaster_job_step_seconds_count{job_id=\"" + job_id_ + "\"}[1m]").result.dump() +
      "\n" + query("up[1m]").result.dump();
  const bool have_gpu = query("sum(ringmaster_gpus) > 0").result.size() > 0;

  // A detection job, submitted as any other: its own test figures (mAP, AP
  // per class) feed the panels tagged "(needs: task figures)".
  ASSERT_TRUE(fs::exists(kFashion)) << kFashion << " missing: run scripts/install-deps.sh";
  const std::string detection_id = run_spec(tiny_detection_spec());
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(wait_until(
      [&] {
        return !query("ringmaster_job_test_figure{figure=\"map50\", job_id=\"" + detection_id +
                      "\"}")
                    .result.empty();
      },
      30s))
      << "no mAP series for the detection job " << detection_id;

  auto substitute = [&](std::string e, const std::string& job_id) {
    const std::vector<std::pair<std::string, std::string>> vars = {
        {"$__rate_interval", "1m"}, {"$__interval", "5s"}, {"$__range", "5m"},
        {"$job_id", job_id},        {"$instance", ".*"},   {"$job", ".*"}};
    for (const auto& [k, v] : vars)
      for (size_t at; (at = e.find(k)) != std::string::npos;) e.replace(at, k.size(), v);
    return e;
  };
  int checked = 0, gpu_skipped = 0;
  for (const char* file : {"cluster-overview.json", "job-detail.json", "gpu.json"}) {
    const nlohmann::json d = nlohmann::json::parse(std::ifstream(source("/dashboards/") + file));
    ASSERT_TRUE(d.contains("panels")) << file;
    // Template variables: label_values(SELECTOR, LABEL) must find values.
    for (const auto& v : d["templating"]["list"]) {
      if (v["type"] != "query") continue;
      const std::string def = v["query"]["query"];
      const std::regex lv(R"(^label_values\((.*),\s*(\w+)\)$)");
      std::smatch m;
      ASSERT_TRUE(std::regex_match(def, m, lv)) << file << ": " << def;
      const auto q = query("count by (" + m[2].str() + ") (" + substitute(m[1], job_id_) + ")");
      EXPECT_TRUE(q.ok) << file << " variable " << v["name"] << ": " << q.error;
      std::vector<std::string> values;
      for (const auto& r : q.result) values.push_back(r["metric"].value(m[2].str(), ""));
      EXPECT_FALSE(values.empty()) << file << " variable " << v["name"] << ": " << def;
      if (v["name"] == "job_id") {
        EXPECT_NE(std::find(values.begin(), values.end(), job_id_), values.end());
      }
      ++checked;
    }
    for (const auto& p : d["panels"]) {
      const std::string title = p["title"], desc = p.value("description", "");
      const bool needs_gpu = desc.find("(needs: gpu)") != std::string::npos;
      const bool needs_multi = desc.find("(needs: multi-worker)") != std::string::npos;
      const bool needs_figures = desc.find("(needs: task figures)") != std::string::npos;
      for (const auto& t : p["targets"]) {
        const std::string expr = substitute(t["expr"], needs_figures ? detection_id : job_id_);
        const auto q = query(expr);
        EXPECT_TRUE(q.ok) << file << " / " << title << ": " << expr << "\n" << q.error;
        if (needs_gpu && !have_gpu) {
          ++gpu_skipped;  // no NVML here: the series do not exist
          continue;
        }
        ++checked;
        if (needs_multi)  // the comm series exist at 0 (values NaN or 0 until data-parallel)
          EXPECT_FALSE(q.result.empty()) << file << " / " << title << ": no series\n" << expr;
        else
          EXPECT_TRUE(q.any_finite()) << file << " / " << title << ": no data\n"
                                      << expr << "\n"
                                      << q.result.dump() << "\nhistory: " << history;
      }
    }
  }
  EXPECT_GT(checked, 30);
  std::printf("checked %d expressions; %d GPU expressions skipped (%s)\n", checked, gpu_skipped,
              have_gpu ? "GPU present" : "no GPU here: ringmaster_gpus is 0");
}

}  // namespace
}  // namespace ringmaster
