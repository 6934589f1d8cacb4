// The shard's loop (see ps_shard.h): receive with a short poll, handle one
// request (parse and validate, apply, reply or park it as a waiter), then
// look for waits that hit their deadline. All job state lives on the shard's
// thread; only the counters are shared (under a mutex).
#include "comm/ps_shard.h"
#include "comm/heap_tuning.h"
#include "comm/memfd_segment.h"
#include "comm/shm_link.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

namespace ringmaster::comm {
namespace {

using Clock = std::chrono::steady_clock;

// A refused request: the error reply's code and sentence.
struct Reject {
  std::string code;
  std::string message;
  int silent_rank = -1;
};

[[noreturn]] void reject(std::string code, std::string message) {
  throw Reject{std::move(code), std::move(message)};
}

int64_t ms_since(Clock::time_point t, Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
}

uint64_t fnv1a(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Waiter {
  std::string peer;
  int64_t rid = 0;
  int rank = 0;
  int64_t step = 0;   // pull: the step whose weights are wanted
  bool join = false;  // an init without weights waiting for the one with them
  bool shm = false;   // pull: the client takes the weights in its segment
  Clock::time_point since;
};

struct Job {
  PsJobInfo info;
  std::vector<PsKey> keys;  // sorted by name; a push or pull must name exactly these
  std::map<std::string, size_t> index;
  int64_t total = 0;  // elements over all keys
  bool initialized = false;
  uint64_t init_hash = 0;
  PsTensors weights, grads;  // flat f32 per key; grads is the buffer handed to update
  std::vector<double> sum;   // BSP: the step's gradient sum, keys concatenated in order
  PsUpdate update;
  int64_t version = 0;         // updates applied (BSP: steps done; SSP: pushes applied)
  std::vector<int64_t> clock;  // per rank: pushes received = the rank's next step
  std::vector<char> pushed;    // BSP: rank pushed the current step
  int pushed_count = 0;
  std::vector<Clock::time_point> last_seen;
  std::vector<char> done;
  // Per rank on this host: the memfd its pushes and pulls go through instead
  // of the wire (null: the wire). Pushes and pulls of one rank alternate with
  // its client, so one area of total f32 serves both.
  std::vector<std::unique_ptr<MemfdSegment>> segments;
  size_t segment_count = 0;  // non-null entries of segments
  std::vector<Waiter> waiters;
  std::string failed_code, failed;  // set once the job failed; every request gets it back
  int silent_rank = -1;
  Clock::time_point failed_at;

  int64_t min_clock() const { return *std::min_element(clock.begin(), clock.end()); }
};

PsJobInfo info_from(const nlohmann::json& h) {
  PsJobInfo info;
  info.job_id = h.at("job_id").get<std::string>();
  info.world = h.at("world").get<int>();
  info.mode = h.at("mode").get<std::string>() == "ssp" ? PsMode::kSsp : PsMode::kBsp;
  info.staleness = h.at("staleness").get<int>();
  info.timeout = std::chrono::milliseconds(h.at("timeout_ms").get<int64_t>());
  info.shard = h.at("shard").get<int>();
  info.shards = h.at("shards").get<int>();
  info.update = h.at("update");
  return info;
}

// The keys of an init / push / pull header, checked: unique names, numel >= 1.
std::vector<PsKey> keys_from(const nlohmann::json& arr) {
  std::vector<PsKey> keys;
  std::set<std::string> seen;
  for (const auto& k : arr) {
    PsKey key{k.at("name").get<std::string>(), k.at("numel").get<int64_t>()};
    if (key.numel < 1) reject("bad_field", "key '" + key.name + "' has no elements");
    if (!seen.insert(key.name).second) reject("bad_field", "key '" + key.name + "' appears twice");
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace

struct ParameterServerShard::State {
  std::map<std::string, Job> jobs;
  std::string host_id = same_host_id();  // "": no segments are offered
  Clock::time_point last_scan;
  mutable std::mutex stats_mu;
  PsShardStats stats;
  template <class F>
  void count(F f) {
    std::lock_guard<std::mutex> lock(stats_mu);
    f(stats);
  }
};

namespace {

// Everything that touches a job, on the shard's thread.
class Handler {
 public:
  Handler(Socket& socket, ParameterServerShard::State& state, const PsUpdateFactory& factory,
          const PsShardOptions& options)
      : socket_(socket), state_(state), factory_(factory), options_(options) {}

  void handle(Envelope&& env);
  void scan_deadlines(Clock::time_point now);

 private:
  void on_init(const std::string& peer, const Message& m);
  void on_push(const std::string& peer, const Message& m);
  void on_pull(const std::string& peer, const Message& m);
  void on_done(const std::string& peer, const Message& m);

  Job& live_job(const nlohmann::json& h, int* rank);
  void initialize(Job& j, const std::string& payload);
  bool ready(const Job& j, const Waiter& w) const;
  void answer(Job& j, const Waiter& w);
  void wake(Job& j);
  void fail(Job& j, const std::string& code, const std::string& message, int silent_rank);
  void apply(Job& j, int64_t step);

  // on_push's parts.
  struct PushLayout {
    std::vector<size_t> order;  // the job's key index of each pushed key
    std::vector<float> scales;  // fp16: each key's scale
    int64_t total = 0;          // elements
  };
  void check_push_step(const Job& j, int rank, int64_t step) const;
  PushLayout push_layout(const Job& j, const nlohmann::json& keys, bool fp16) const;
  const char* push_source(Job& j, int rank, const Message& m, size_t bytes);
  void take_push(Job& j, const PushLayout& layout, const char* src, bool fp16,
                 const std::vector<int64_t>& offset);

  void send_ok(const std::string& peer, int64_t rid, int64_t version);
  void offer_segment(Job& j, int rank, const nlohmann::json& h);
  void send_init_ok(Job& j, const std::string& peer, int64_t rid, int rank);
  size_t live_segments() const;
  void send_error(const std::string& peer, int64_t rid, const Reject& r, const std::string& job);

  Socket& socket_;
  ParameterServerShard::State& state_;
  const PsUpdateFactory& factory_;
  const PsShardOptions& options_;
};

void Handler::send_ok(const std::string& peer, int64_t rid, int64_t version) {
  socket_.send(peer, Message{"ps_ok", {{"rid", rid}, {"version", version}}, {}});
}

size_t Handler::live_segments() const {
  size_t n = 0;
  for (const auto& [id, j] : state_.jobs) n += j.segment_count;
  return n;
}

// A rank whose init names this shard's host gets a segment of its own (a new
// one on every init: a restarted rank must not share its predecessor's), up
// to options_.max_segments on the shard; otherwise, or when the system
// refuses one, it stays on the wire.
void Handler::offer_segment(Job& j, int rank, const nlohmann::json& h) {
  auto host = h.find("host");
  if (host == h.end() || state_.host_id.empty() || *host != state_.host_id) return;
  std::unique_ptr<MemfdSegment>& mine = j.segments[static_cast<size_t>(rank)];
  if (mine) {
    mine.reset();
    --j.segment_count;
  }
  if (live_segments() >= options_.max_segments) return;
  try {
    mine = MemfdSegment::create("ringmaster-ps", static_cast<uint64_t>(j.total) * sizeof(float));
    ++j.segment_count;
  } catch (const std::exception&) {
    // No memory or no fds for it: the wire carries this rank.
  }
}

void Handler::send_init_ok(Job& j, const std::string& peer, int64_t rid, int rank) {
  Message ok{"ps_ok", {{"rid", rid}, {"version", j.version}}, {}};
  if (const auto& seg = j.segments[static_cast<size_t>(rank)]) {
    const MemfdOffer o = seg->offer();
    char cookie[17];
    std::snprintf(cookie, sizeof cookie, "%016llx", static_cast<unsigned long long>(o.cookie));
    ok.header["shm"] = {{"pid", o.pid}, {"fd", o.fd}, {"cookie", cookie}, {"bytes", o.bytes}};
  }
  socket_.send(peer, ok);
}

void Handler::send_error(const std::string& peer, int64_t rid, const Reject& r,
                         const std::string& job) {
  Message e = make_error(r.code, r.message);
  if (rid >= 0) e.header["rid"] = rid;
  if (!job.empty()) e.header["job_id"] = job;
  if (r.silent_rank >= 0) e.header["silent_rank"] = r.silent_rank;
  socket_.send(peer, e);  // a peer that is gone does not get it; nothing else to do
}

void Handler::handle(Envelope&& env) {
  int64_t rid = -1;
  std::string job;
  try {
    Message m;
    try {
      m = decode(std::move(env.frames), env.overflow);
    } catch (const ProtocolError& e) {
      reject(e.code(), e.what());
    }
    if (auto it = m.header.find("rid"); it != m.header.end() && it->is_number_integer())
      rid = it->get<int64_t>();
    if (auto it = m.header.find("job_id"); it != m.header.end() && it->is_string())
      job = it->get<std::string>();
    if (m.type == "ps_init") {
      on_init(env.peer, m);
    } else if (m.type == "ps_push") {
      on_push(env.peer, m);
    } else if (m.type == "ps_pull") {
      on_pull(env.peer, m);
    } else if (m.type == "ps_done") {
      on_done(env.peer, m);
    } else {
      reject("unexpected_type", "a parameter-server shard does not take \"" + m.type + "\"");
    }
  } catch (const Reject& r) {
    if (r.code != "peer_timeout" && r.code != "job_failed")
      state_.count([](PsShardStats& s) { ++s.bad_messages; });
    send_error(env.peer, rid, r, job);
  } catch (const nlohmann::json::exception& e) {
    // The schema checked kinds and ranges; this is a field that does not fit an int.
    state_.count([](PsShardStats& s) { ++s.bad_messages; });
    send_error(env.peer, rid, Reject{"bad_field", e.what()}, job);
  } catch (const std::exception& e) {
    // Out of memory for a job's tensors, or the like: refuse this request, keep serving.
    send_error(env.peer, rid, Reject{"internal", e.what()}, job);
  }
}

Job& Handler::live_job(const nlohmann::json& h, int* rank) {
  const std::string id = h.at("job_id").get<std::string>();
  auto it = state_.jobs.find(id);
  if (it == state_.jobs.end()) reject("unknown_job", "job '" + id + "' has no keys on this shard");
  Job& j = it->second;
  if (!j.failed.empty()) throw Reject{"job_failed", j.failed, j.silent_rank};
  if (!j.initialized)
    reject("not_initialised", "job '" + id + "' is not initialised yet (call init first)");
  *rank = h.at("rank").get<int>();
  if (*rank >= j.info.world)
    reject("bad_field",
           "rank " + std::to_string(*rank) + " is outside world " + std::to_string(j.info.world));
  j.last_seen[static_cast<size_t>(*rank)] = Clock::now();
  return j;
}

void Handler::initialize(Job& j, const std::string& payload) {
  const float* src = reinterpret_cast<const float*>(payload.data());
  for (const PsKey& k : j.keys) {
    ops::Tensor w = ops::Tensor::empty({k.numel});
    std::memcpy(w.data<float>(), src, static_cast<size_t>(k.numel) * sizeof(float));
    src += k.numel;
    j.weights[k.name] = w;
    j.grads[k.name] = ops::Tensor::zeros({k.numel});
  }
  try {
    j.update = factory_(j.info, j.weights);
  } catch (const std::exception& e) {
    j.weights.clear();
    j.grads.clear();
    reject("bad_update", std::string("the host refused job '") + j.info.job_id + "': " + e.what());
  }
  if (!j.update) {
    j.weights.clear();
    j.grads.clear();
    reject("bad_update", "the host has no optimizer for job '" + j.info.job_id + "'");
  }
  if (j.info.mode == PsMode::kBsp) j.sum.assign(static_cast<size_t>(j.total), 0.0);
  j.init_hash = fnv1a(payload);
  j.initialized = true;
}

void Handler::on_init(const std::string& peer, const Message& m) {
  const nlohmann::json& h = m.header;
  const int64_t rid = h.at("rid").get<int64_t>();
  PsJobInfo info = info_from(h);
  const int rank = h.at("rank").get<int>();
  if (!options_.only_job.empty() && info.job_id != options_.only_job)
    reject("unknown_job",
           "this shard serves job '" + options_.only_job + "' only, not '" + info.job_id + "'");
  if (options_.shard_index >= 0 &&
      (info.shard != options_.shard_index || info.shards != options_.shards))
    reject("wrong_shard", "this is shard " + std::to_string(options_.shard_index) + " of " +
                              std::to_string(options_.shards) + ", the client took it for " +
                              std::to_string(info.shard) + " of " + std::to_string(info.shards));
  if (info.shard >= info.shards) reject("bad_field", "shard index is outside shards");
  if (rank >= info.world) reject("bad_field", "rank is outside world");
  std::vector<PsKey> keys = keys_from(h.at("keys"));
  std::sort(keys.begin(), keys.end(),
            [](const PsKey& a, const PsKey& b) { return a.name < b.name; });
  int64_t total = 0;
  for (const PsKey& k : keys) total += k.numel;
  const bool has_data = h.at("has_data").get<bool>();
  if (has_data &&
      (m.payload.size() != 1 || m.payload[0].size() != static_cast<size_t>(total) * sizeof(float)))
    reject("bad_payload", "init needs one frame of " + std::to_string(total * 4) +
                              " bytes (f32 weights of every key in name order)");
  if (!has_data && !m.payload.empty()) reject("bad_payload", "init without data has a payload");

  auto it = state_.jobs.find(info.job_id);
  if (it == state_.jobs.end()) {
    if (state_.jobs.size() >= options_.max_jobs)
      reject("too_many_jobs",
             "this shard already holds " + std::to_string(state_.jobs.size()) + " jobs");
    Job j;
    j.info = info;
    j.keys = keys;
    for (size_t i = 0; i < keys.size(); ++i) j.index[keys[i].name] = i;
    j.total = total;
    const auto n = static_cast<size_t>(info.world);
    j.clock.assign(n, 0);
    j.pushed.assign(n, 0);
    j.done.assign(n, 0);
    j.last_seen.assign(n, Clock::now());
    j.segments.resize(n);
    if (has_data) initialize(j, m.payload[0]);  // throws before the job exists
    it = state_.jobs.emplace(info.job_id, std::move(j)).first;
  } else {
    Job& j = it->second;
    if (!j.failed.empty()) throw Reject{"job_failed", j.failed, j.silent_rank};
    std::string diff;
    if (j.info.world != info.world) diff = "world";
    if (j.info.mode != info.mode || j.info.staleness != info.staleness) diff = "mode/staleness";
    if (j.info.timeout != info.timeout) diff = "timeout_ms";
    if (j.info.update != info.update) diff = "update (optimizer configuration)";
    if (j.keys.size() != keys.size()) diff = "keys";
    for (size_t i = 0; diff.empty() && i < keys.size(); ++i)
      if (keys[i].name != j.keys[i].name || keys[i].numel != j.keys[i].numel)
        diff = "keys ('" + keys[i].name + "')";
    if (!diff.empty())
      reject("init_conflict", "job '" + info.job_id + "' was initialised with a different " + diff);
    if (has_data) {
      if (j.initialized && fnv1a(m.payload[0]) != j.init_hash)
        reject("init_conflict",
               "job '" + info.job_id + "' was already initialised with different weights");
      if (!j.initialized) initialize(j, m.payload[0]);
    }
  }
  Job& j = it->second;
  j.last_seen[static_cast<size_t>(rank)] = Clock::now();
  offer_segment(j, rank, h);
  if (j.initialized) {
    send_init_ok(j, peer, rid, rank);
    wake(j);
  } else {
    j.waiters.push_back(Waiter{peer, rid, rank, 0, true, false, Clock::now()});
  }
}

// A push's step: BSP, the shard's step and not yet pushed by this rank;
// SSP, the rank's own next step.
void Handler::check_push_step(const Job& j, int rank, int64_t step) const {
  const auto r = static_cast<size_t>(rank);
  if (j.info.mode == PsMode::kBsp) {
    if (step != j.version)
      reject("bad_step", "push for step " + std::to_string(step) + " but the shard is at step " +
                             std::to_string(j.version));
    if (j.pushed[r])
      reject("duplicate_push",
             "rank " + std::to_string(rank) + " already pushed step " + std::to_string(step));
  } else if (step != j.clock[r]) {
    reject("bad_step", "rank " + std::to_string(rank) + " pushed step " + std::to_string(step) +
                           ", expected step " + std::to_string(j.clock[r]));
  }
}

// A push's keys: exactly the job's, in any order, each with its element
// count (and, in fp16, a positive finite scale); the data follows in that order.
Handler::PushLayout Handler::push_layout(const Job& j, const nlohmann::json& keys,
                                         bool fp16) const {
  if (keys.size() != j.keys.size())
    reject("bad_keys", "push names " + std::to_string(keys.size()) + " keys, the job has " +
                           std::to_string(j.keys.size()) + " on this shard");
  PushLayout out;
  std::vector<char> seen(j.keys.size(), 0);
  for (const auto& k : keys) {
    const std::string& name = k.at("name").get_ref<const std::string&>();
    auto idx = j.index.find(name);
    if (idx == j.index.end()) reject("bad_keys", "key '" + name + "' is not on this shard");
    if (seen[idx->second]) reject("bad_keys", "key '" + name + "' appears twice");
    seen[idx->second] = 1;
    if (k.at("numel").get<int64_t>() != j.keys[idx->second].numel)
      reject("bad_keys", "key '" + name + "' has " + std::to_string(j.keys[idx->second].numel) +
                             " elements on this shard");
    float scale = 1.0f;
    if (fp16) {
      if (!k.contains("scale")) reject("bad_field", "fp16 key '" + name + "' has no scale");
      scale = k.at("scale").get<float>();
      if (!(scale > 0.0f) || !std::isfinite(scale))
        reject("bad_field", "key '" + name + "' has a bad scale");
    }
    out.order.push_back(idx->second);
    out.scales.push_back(scale);
    out.total += j.keys[idx->second].numel;
  }
  return out;
}

// Where a push's `bytes` of data lie: the rank's segment (a push through
// shared memory) or the message's one frame.
const char* Handler::push_source(Job& j, int rank, const Message& m, size_t bytes) {
  if (!m.header.value("shm", false)) {
    if (m.payload.size() != 1 || m.payload[0].size() != bytes)
      reject("bad_payload", "push needs one frame of " + std::to_string(bytes) + " bytes");
    return m.payload[0].data();
  }
  // The gradients lie in the rank's segment. Its client may scribble on it
  // meanwhile; that spoils only its own push, and the size is ours.
  const auto& seg = j.segments[static_cast<size_t>(rank)];
  if (!seg)
    reject("no_segment", "rank " + std::to_string(rank) +
                             " pushed through shared memory, but it has no segment here");
  if (!m.payload.empty()) reject("bad_payload", "a push through shared memory has a payload");
  if (seg->data().size() < bytes) reject("bad_payload", "the push does not fit the rank's segment");
  seg->close_fd();  // its client has it mapped
  return reinterpret_cast<const char*>(seg->data().data());
}

// The pushed data decoded into the grads buffers, scaled by 1/world (SSP),
// or added to the step's sum (BSP; f32 summed straight from `src`).
void Handler::take_push(Job& j, const PushLayout& layout, const char* src, bool fp16,
                        const std::vector<int64_t>& offset) {
  const size_t elem = fp16 ? 2 : 4;
  const float inv_world = 1.0f / static_cast<float>(j.info.world);
  const bool bsp = j.info.mode == PsMode::kBsp;
  for (size_t n = 0; n < layout.order.size(); ++n) {
    const PsKey& key = j.keys[layout.order[n]];
    float* g = j.grads[key.name].data<float>();
    const float* pushed = g;
    if (fp16) {
      ps_decode_fp16(reinterpret_cast<const uint16_t*>(src), key.numel, layout.scales[n], g);
    } else if (bsp) {
      pushed = reinterpret_cast<const float*>(src);
    } else {
      std::memcpy(g, src, static_cast<size_t>(key.numel) * sizeof(float));
    }
    src += key.numel * static_cast<int64_t>(elem);
    if (bsp) {
      double* s = j.sum.data() + offset[layout.order[n]];
      for (int64_t i = 0; i < key.numel; ++i) s[i] += pushed[i];
    } else {
      for (int64_t i = 0; i < key.numel; ++i) g[i] *= inv_world;
    }
  }
}

void Handler::on_push(const std::string& peer, const Message& m) {
  const nlohmann::json& h = m.header;
  int rank = 0;
  Job& j = live_job(h, &rank);
  const int64_t rid = h.at("rid").get<int64_t>();
  const int64_t step = h.at("step").get<int64_t>();
  // The schema allows only the spellings of Compression (messages.cpp).
  const bool fp16 = h.at("compression").get<std::string>() == to_string(Compression::kFp16);
  const auto r = static_cast<size_t>(rank);
  check_push_step(j, rank, step);
  const PushLayout layout = push_layout(j, h.at("keys"), fp16);
  const char* src = push_source(j, rank, m, static_cast<size_t>(layout.total) * (fp16 ? 2 : 4));
  std::vector<int64_t> offset(j.keys.size(), 0);
  for (size_t i = 1; i < j.keys.size(); ++i) offset[i] = offset[i - 1] + j.keys[i - 1].numel;
  take_push(j, layout, src, fp16, offset);
  state_.count([](PsShardStats& s) { ++s.pushes; });
  j.clock[r] = step + 1;
  if (j.info.mode != PsMode::kBsp) {
    send_ok(peer, rid, j.version);
    apply(j, step);
    return;
  }
  j.pushed[r] = 1;
  if (++j.pushed_count < j.info.world) {
    send_ok(peer, rid, j.version);
    return;
  }
  // The last rank of the step: the mean of the sums into the grads, then the update.
  for (size_t k = 0; k < j.keys.size(); ++k) {
    float* g = j.grads[j.keys[k].name].data<float>();
    const double* s = j.sum.data() + offset[k];
    for (int64_t i = 0; i < j.keys[k].numel; ++i) g[i] = static_cast<float>(s[i] / j.info.world);
  }
  std::fill(j.sum.begin(), j.sum.end(), 0.0);
  std::fill(j.pushed.begin(), j.pushed.end(), 0);
  j.pushed_count = 0;
  send_ok(peer, rid, j.version);
  apply(j, step);
}

void Handler::apply(Job& j, int64_t step) {
  try {
    j.update(step, j.weights, j.grads);
  } catch (const std::exception& e) {
    fail(j, "update_failed",
         "the optimizer step failed on shard " + std::to_string(j.info.shard) + ": " + e.what(),
         -1);
    return;
  }
  ++j.version;
  state_.count([](PsShardStats& s) { ++s.updates; });
  wake(j);
}

void Handler::on_pull(const std::string& peer, const Message& m) {
  const nlohmann::json& h = m.header;
  int rank = 0;
  Job& j = live_job(h, &rank);
  const int64_t step = h.at("step").get<int64_t>();
  const auto r = static_cast<size_t>(rank);
  if (j.info.mode == PsMode::kBsp) {
    if (step < j.version || step > j.version + 1)
      reject("bad_step", "pull for step " + std::to_string(step) + " but the shard is at step " +
                             std::to_string(j.version));
  } else if (step > j.clock[r]) {
    reject("bad_step", "rank " + std::to_string(rank) + " pulled step " + std::to_string(step) +
                           " before pushing step " + std::to_string(j.clock[r]));
  }
  state_.count([](PsShardStats& s) { ++s.pulls; });
  const bool shm = h.value("shm", false);
  if (shm && j.segments[r]) j.segments[r]->close_fd();  // its client has it mapped
  Waiter w{peer, h.at("rid").get<int64_t>(), rank, step, false, shm, Clock::now()};
  if (ready(j, w)) {
    answer(j, w);
  } else {
    j.waiters.push_back(std::move(w));
  }
}

void Handler::on_done(const std::string& peer, const Message& m) {
  const nlohmann::json& h = m.header;
  const int64_t rid = h.at("rid").get<int64_t>();
  auto it = state_.jobs.find(h.at("job_id").get<std::string>());
  if (it == state_.jobs.end()) {  // already gone: done is idempotent
    send_ok(peer, rid, 0);
    return;
  }
  int rank = 0;
  Job& j = live_job(h, &rank);
  j.done[static_cast<size_t>(rank)] = 1;
  send_ok(peer, rid, j.version);
  if (std::all_of(j.done.begin(), j.done.end(), [](char d) { return d != 0; }))
    state_.jobs.erase(it);
}

bool Handler::ready(const Job& j, const Waiter& w) const {
  if (w.join) return j.initialized;
  if (j.info.mode == PsMode::kBsp) return j.version >= w.step;
  return j.min_clock() >= w.step - j.info.staleness;
}

void Handler::answer(Job& j, const Waiter& w) {
  if (w.join) {
    send_init_ok(j, w.peer, w.rid, w.rank);
    return;
  }
  // Into the rank's segment when it asked for that and still has one.
  const MemfdSegment* seg = w.shm ? j.segments[static_cast<size_t>(w.rank)].get() : nullptr;
  nlohmann::json keys = nlohmann::json::array();
  std::string data(seg ? 0 : static_cast<size_t>(j.total) * sizeof(float), '\0');
  char* dst = seg ? reinterpret_cast<char*>(seg->data().data()) : data.data();
  for (const PsKey& k : j.keys) {
    keys.push_back({{"name", k.name}, {"numel", k.numel}});
    const size_t bytes = static_cast<size_t>(k.numel) * sizeof(float);
    std::memcpy(dst, j.weights.at(k.name).data<float>(), bytes);
    dst += bytes;
  }
  Message reply{
      "ps_weights",
      {{"rid", w.rid}, {"version", j.version}, {"min_clock", j.min_clock()}, {"keys", keys}},
      {}};
  if (seg) {
    reply.header["shm"] = true;
  } else {
    reply.payload.push_back(std::move(data));
  }
  socket_.send(Envelope{w.peer, encode(std::move(reply))});
}

void Handler::wake(Job& j) {
  std::vector<Waiter> still;
  for (Waiter& w : j.waiters) {
    if (ready(j, w)) {
      answer(j, w);
    } else {
      still.push_back(std::move(w));
    }
  }
  j.waiters.swap(still);
}

void Handler::fail(Job& j, const std::string& code, const std::string& message, int silent_rank) {
  j.failed_code = code;
  j.failed = message;
  j.silent_rank = silent_rank;
  j.failed_at = Clock::now();
  for (const Waiter& w : j.waiters)
    send_error(w.peer, w.rid, Reject{code, message, silent_rank}, j.info.job_id);
  j.waiters.clear();
  j.weights.clear();
  j.grads.clear();
  j.sum.clear();
  j.sum.shrink_to_fit();
  for (auto& seg : j.segments) seg.reset();
  j.segment_count = 0;
  j.update = nullptr;
  state_.count([](PsShardStats& s) { ++s.failed_jobs; });
}

void Handler::scan_deadlines(Clock::time_point now) {
  for (auto it = state_.jobs.begin(); it != state_.jobs.end();) {
    Job& j = it->second;
    const int64_t timeout = j.info.timeout.count();
    // A failed job is kept a while so late requests learn why, then dropped.
    if (!j.failed.empty()) {
      if (ms_since(j.failed_at, now) > std::max<int64_t>(60000, 10 * timeout)) {
        it = state_.jobs.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    const std::string where =
        "job '" + j.info.job_id + "' on shard " + std::to_string(j.info.shard) + ": ";
    for (const Waiter& w : j.waiters) {
      if (w.join) {
        if (ms_since(w.since, now) > timeout) {
          fail(j, "peer_timeout",
               where + "no rank sent the initial weights within " + std::to_string(timeout) +
                   " ms (rank 0 is silent)",
               0);
          break;
        }
        continue;
      }
      // The ranks this wait needs, and the one silent for longest.
      int silent = -1;
      for (int r = 0; r < j.info.world; ++r) {
        const auto ri = static_cast<size_t>(r);
        const bool blocking =
            j.info.mode == PsMode::kBsp ? !j.pushed[ri] : j.clock[ri] < w.step - j.info.staleness;
        if (blocking && (silent < 0 || j.last_seen[ri] < j.last_seen[static_cast<size_t>(silent)]))
          silent = r;
      }
      if (silent < 0) continue;
      const int64_t quiet = ms_since(j.last_seen[static_cast<size_t>(silent)], now);
      if (quiet > timeout) {
        fail(j, "peer_timeout",
             where + "rank " + std::to_string(silent) + " sent nothing for " +
                 std::to_string(quiet) + " ms while rank " + std::to_string(w.rank) +
                 " waited for its step " + std::to_string(j.clock[static_cast<size_t>(silent)]) +
                 " gradient (timeout " + std::to_string(timeout) + " ms); the job is failed",
             silent);
        break;
      }
      if (ms_since(w.since, now) > 3 * timeout) {
        fail(j, "peer_timeout",
             where + "no progress for " + std::to_string(ms_since(w.since, now)) + " ms: rank " +
                 std::to_string(silent) + " is still at step " +
                 std::to_string(j.clock[static_cast<size_t>(silent)]),
             silent);
        break;
      }
    }
    ++it;
  }
}

}  // namespace

ParameterServerShard::ParameterServerShard(Context& ctx, PsUpdateFactory factory,
                                           PsShardOptions options)
    : ctx_(ctx),
      factory_(std::move(factory)),
      options_(std::move(options)),
      state_(std::make_unique<State>()) {
  keep_large_blocks_on_heap();
}

ParameterServerShard::~ParameterServerShard() { stop(); }

void ParameterServerShard::start() {
  RM_CHECK(!thread_.joinable(), "ParameterServerShard::start called twice");
  SocketOptions so;
  so.max_frame_bytes = options_.max_message_bytes;
  so.send_high_water_mark = 10000;
  so.curve_secret_key = options_.curve_secret_key;
  so.zap_domain = options_.zap_domain;
  socket_ = std::make_unique<Socket>(ctx_, SocketKind::kRouter, so);
  socket_->bind(options_.endpoint);
  endpoint_ = socket_->endpoint();
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void ParameterServerShard::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  socket_.reset();
  state_->jobs.clear();
  std::lock_guard<std::mutex> lock(state_->stats_mu);
  state_->stats.live_jobs = 0;
}

PsShardStats ParameterServerShard::stats() const {
  std::lock_guard<std::mutex> lock(state_->stats_mu);
  return state_->stats;
}

void ParameterServerShard::run() {
  Handler handler(*socket_, *state_, factory_, options_);
  while (!stop_.load()) {
    if (auto env = socket_->receive(std::chrono::milliseconds(20))) handler.handle(std::move(*env));
    const auto now = Clock::now();
    if (now - state_->last_scan >= std::chrono::milliseconds(10)) {
      state_->last_scan = now;
      handler.scan_deadlines(now);
      const size_t live = state_->jobs.size();
      state_->count([live](PsShardStats& s) { s.live_jobs = live; });
    }
  }
}

}  // namespace ringmaster::comm
