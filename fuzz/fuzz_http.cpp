// Fuzz target: bytes as they arrive on the REST port. The server's own
// parser (coordinator/http_request.h) with its limits; a request it accepts
// goes to the REST handlers, with a real JobManager on an SQLite file in
// /dev/shm, the job-spec parser and the path check a coordinator is given.
// A 5xx other than 503 (a full store) means a handler's exception reached the
// client for what was the client's input: a finding, as is a crash, a
// sanitizer report or an exception out of the handler.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "coordinator/http_request.h"
#include "coordinator/job_manager.h"
#include "coordinator/job_store.h"
#include "coordinator/rest_api.h"
#include "coordinator/worker_registry.h"
#include "training/job_spec.h"
#include "training/path_roots.h"

namespace {

using namespace ringmaster;

struct Coordinator {
  std::filesystem::path dir =
      std::filesystem::path("/dev/shm") / ("rm_fuzz_http_" + std::to_string(::getpid()));
  std::unique_ptr<coordinator::JobStore> store;
  std::unique_ptr<coordinator::JobManager> jobs;
  coordinator::WorkerRegistry workers{std::chrono::seconds(10)};
  std::unique_ptr<coordinator::RestApi> api;

  Coordinator() {
    std::filesystem::remove_all(dir);
    store = coordinator::open_sqlite_job_store((dir / "state" / "jobs.db").string(),
                                               coordinator::Durability::kNormal);
    jobs = std::make_unique<coordinator::JobManager>(*store, 64);  // then 503s
    coordinator::RestOptions o;
    o.policy.checkpoint_root = dir / "runs";
    o.policy.state_dir = dir / "state";
    o.policy.parse = training::parse_job_spec;
    const training::PathRoots roots = training::resolve_roots(training::default_path_roots());
    o.policy.check_read_paths = [roots](const training::JobSpec& spec) {
      return training::read_path_problems(spec, roots);
    };
    o.metrics_text = [] { return std::string("# none\n"); };
    api = std::make_unique<coordinator::RestApi>(*jobs, workers, o);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Coordinator c;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const coordinator::HttpParse parsed = coordinator::parse_http_request(bytes, 1 << 20);
  if (!parsed.request) return 0;
  const coordinator::HttpResponse r = c.api->handle(*parsed.request);
  if (r.status >= 500 && r.status != 503) __builtin_trap();
  if (r.stream) {  // a followed log: pull it once, as the server's timer would
    bool done = false;
    r.stream(done);
  }
  return 0;
}
