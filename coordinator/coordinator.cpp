// Wiring of the coordinator (see coordinator.h): store -> JobManager and
// WorkerRegistry -> ControlPlane and RestApi/HttpServer.
#include "coordinator/coordinator.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <prometheus/registry.h>

#include "comm/curve.h"
#include "comm/metrics.h"
#include "comm/transport.h"
#include "coordinator/control_plane.h"
#include "coordinator/http_server.h"
#include "coordinator/job_manager.h"
#include "coordinator/metrics.h"
#include "coordinator/rest_api.h"
#include "coordinator/worker_registry.h"

namespace ringmaster::coordinator {

namespace fs = std::filesystem;

bool is_loopback_address(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

std::string zmq_endpoint_host(const std::string& endpoint) {
  const std::string scheme = "tcp://";
  if (endpoint.rfind(scheme, 0) != 0) return "";
  const std::string rest = endpoint.substr(scheme.size());
  const size_t colon = rest.rfind(':');
  return rest.substr(0, colon);
}

struct Coordinator::Impl {
  CoordinatorOptions options;
  std::unique_ptr<JobStore> store;
  std::unique_ptr<JobManager> jobs;
  std::unique_ptr<WorkerRegistry> workers;
  comm::Context ctx;
  std::unique_ptr<CoordinatorMetrics> metrics;
  std::vector<std::shared_ptr<prometheus::Collectable>> metric_sources;
  std::unique_ptr<ControlPlane> control;
  std::unique_ptr<RestApi> api;
  std::unique_ptr<HttpServer> http;
  bool started = false;
};

Coordinator::Coordinator(CoordinatorOptions o) : impl_(std::make_unique<Impl>()) {
  if (!o.parse_spec)
    throw ConfigError("no job-spec parser: CoordinatorOptions::parse_spec is required");
  if (o.token.empty()) {
    if (!is_loopback_address(o.http_address))
      throw ConfigError("refusing to serve the REST API on " + o.http_address +
                        " without a token: set --token, --token-file or RINGMASTER_TOKEN, or "
                        "bind 127.0.0.1");
  }
  const std::string zmq_host = zmq_endpoint_host(o.zmq_endpoint);
  if (o.curve_key_file.empty() && (zmq_host.empty() || !is_loopback_address(zmq_host)))
    throw ConfigError("refusing to bind the control plane on " + o.zmq_endpoint +
                      " without CURVE: give --curve-key and --allow-workers (keys from "
                      "`ringmaster keygen`), or bind tcp://127.0.0.1:PORT");
  std::string curve_secret;
  if (!o.curve_key_file.empty()) {
    if (o.worker_allowlist.empty())
      throw ConfigError("--curve-key needs --allow-workers: the file of worker public keys");
    try {
      curve_secret = comm::read_curve_keypair(o.curve_key_file).secret_key;
      comm::read_curve_allowlist(o.worker_allowlist);
    } catch (const comm::TransportError& e) {
      throw ConfigError(e.what());
    }
  }
  std::error_code ec;
  const fs::path state = fs::absolute(o.state_dir);
  fs::create_directories(state, ec);
  if (ec) throw ConfigError("cannot create state folder " + state.string() + ": " + ec.message());
  const fs::path root = fs::absolute(o.checkpoint_root);
  fs::create_directories(root, ec);
  if (ec) throw ConfigError("cannot create checkpoint root " + root.string() + ": " + ec.message());
  Impl& s = *impl_;
  s.options = o;
  s.store = open_sqlite_job_store((state / "jobs.db").string(), o.durability);
  s.jobs = std::make_unique<JobManager>(*s.store, o.max_jobs);
  s.workers = std::make_unique<WorkerRegistry>(o.heartbeat_timeout);
  s.metrics = std::make_unique<CoordinatorMetrics>(o.metrics_retention);
  CoordinatorMetrics* metrics = s.metrics.get();
  s.jobs->set_transition_observer(
      [metrics](JobState from, JobState to) { metrics->transition(from, to); });
  ControlPlaneOptions cp;
  cp.endpoint = o.zmq_endpoint;
  cp.heartbeat_interval = o.heartbeat_interval;
  cp.metrics = metrics;
  cp.ps_update = o.ps_update;
  cp.parse_spec = o.parse_spec;
  cp.curve_secret_key = curve_secret;
  cp.worker_allowlist = o.worker_allowlist;
  s.control = std::make_unique<ControlPlane>(s.ctx, *s.jobs, *s.workers, cp);
  RestOptions rest;
  rest.token = o.token;
  rest.policy.checkpoint_root = fs::weakly_canonical(root);
  rest.policy.state_dir = fs::weakly_canonical(state);
  rest.policy.parse = o.parse_spec;
  rest.policy.check_read_paths = o.check_read_paths;
  rest.policy.max_restarts = o.max_restarts;
  rest.policy.restart_backoff_s = o.restart_backoff_s;
  ControlPlane* control = s.control.get();
  s.metric_sources = {cluster_collector(*s.jobs, *s.workers,
                                        [control] {
                                          const ControlPlane::Stats st = control->stats();
                                          return ControlCounters{st.received,    st.bad_messages,
                                                                 st.sent,        st.send_failures,
                                                                 st.bad_by_code, st.auth_accepted,
                                                                 st.auth_refused};
                                        }),
                      s.metrics->registry(), comm::comm_registry(), comm::process_collector()};
  rest.metrics = metrics;
  Impl* impl = impl_.get();
  rest.metrics_text = [impl] { return comm::metrics_text(impl->metric_sources); };
  s.api = std::make_unique<RestApi>(*s.jobs, *s.workers, rest);
  HttpServerOptions http;
  http.address = o.http_address;
  http.port = o.http_port;
  http.threads = o.http_threads;
  RestApi* api = s.api.get();
  s.http =
      std::make_unique<HttpServer>(http, [api](const HttpRequest& r) { return api->handle(r); });
}

Coordinator::~Coordinator() { stop(); }

void Coordinator::start() {
  Impl& s = *impl_;
  s.control->start();
  try {
    s.http->start();
  } catch (...) {
    s.control->stop();
    throw;
  }
  s.started = true;
  // Tell local tools where we are: written to a temporary file, then renamed.
  const fs::path state = fs::absolute(s.options.state_dir);
  const nlohmann::json info = {{"http", "http://" +
                                            (s.options.http_address.find(':') != std::string::npos
                                                 ? "[" + s.options.http_address + "]"
                                                 : s.options.http_address) +
                                            ":" + std::to_string(s.http->port())},
                               {"zmq", s.control->endpoint()},
                               {"pid", static_cast<int64_t>(::getpid())}};
  const fs::path tmp = state / "coordinator.json.tmp";
  {
    std::ofstream out(tmp);
    out << info.dump(2) << "\n";
  }
  std::error_code ec;
  fs::rename(tmp, state / "coordinator.json", ec);
}

void Coordinator::stop() {
  Impl& s = *impl_;
  if (s.http) s.http->stop();
  if (s.control) s.control->stop();
  if (s.started) {
    std::error_code ec;
    fs::remove(fs::absolute(s.options.state_dir) / "coordinator.json", ec);
    s.started = false;
  }
}

uint16_t Coordinator::http_port() const { return impl_->http->port(); }
std::string Coordinator::zmq_endpoint() const { return impl_->control->endpoint(); }
uint64_t Coordinator::bad_messages() const { return impl_->control->stats().bad_messages; }
std::string Coordinator::metrics_text() const { return comm::metrics_text(impl_->metric_sources); }

}  // namespace ringmaster::coordinator
