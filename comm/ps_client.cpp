// The client side of the parameter server (see ps_client.h): placement,
// per-shard request building (f32 or fp16 with error feedback), and one
// deadline for the replies of all shards. Replies are matched by request id;
// any other reply (a late one from an earlier, failed call) is dropped.
#include "comm/ps_client.h"
#include "comm/heap_tuning.h"
#include "comm/memfd_segment.h"
#include "comm/shm_link.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ringmaster::comm {

struct ParameterServerClient::Shard {
  int index = 0;
  std::string endpoint;
  std::unique_ptr<Socket> socket;
  std::vector<const PsSlice*> slices;  // this shard's, in key order (as the shard sorts them)
  int64_t total = 0;                   // elements
  // The shard's segment for this rank (null: the wire). Dropped after a failed
  // exchange: a late answer may still write into it.
  std::unique_ptr<MemfdSegment> segment;
};

namespace {

using Clock = std::chrono::steady_clock;

// How often a call waiting for replies looks at the cancel flag.
constexpr std::chrono::milliseconds kCancelPoll{200};

// The f32 CPU data of `name` in `m`, checked against the key's size.
const float* tensor_data(const PsTensors& m, const std::string& name, int64_t numel,
                         std::vector<ops::Tensor>& keep) {
  auto it = m.find(name);
  RM_THROW_IF(it == m.end() || !it->second.defined(), "parameter server: no tensor for key '", name,
              "'");
  const ops::Tensor& t = it->second;
  RM_THROW_IF(t.dtype() != ops::DType::f32 || !t.device().is_cpu(), "parameter server: key '", name,
              "' must be f32 on the CPU, got ", ops::to_string(t));
  RM_THROW_IF(t.numel() != numel, "parameter server: key '", name, "' has ", t.numel(),
              " elements, expected ", numel);
  keep.push_back(t.to_plain());
  return keep.back().data<float>();
}

bool shared_memory_allowed(const PsClientOptions& o) {
  const char* env = std::getenv("RINGMASTER_PS_SHM");
  return o.shared_memory && !(env != nullptr && std::string(env) == "0");
}

// The segment an init reply offers, mapped, or null (the wire) when there is
// none, it cannot be opened, or it cannot hold `bytes`.
std::unique_ptr<MemfdSegment> open_offered_segment(const Message& reply, uint64_t bytes) {
  auto it = reply.header.find("shm");
  if (it == reply.header.end()) return nullptr;
  const auto& o = *it;  // checked by the message schema (messages.cpp)
  MemfdOffer offer;
  offer.pid = o.at("pid").get<int64_t>();
  offer.fd = o.at("fd").get<int>();
  offer.bytes = o.at("bytes").get<uint64_t>();
  const std::string& cookie = o.at("cookie").get_ref<const std::string&>();
  char* end = nullptr;
  offer.cookie = std::strtoull(cookie.c_str(), &end, 16);
  if (cookie.size() != 16 || end != cookie.c_str() + cookie.size()) return nullptr;
  std::string why;
  auto seg = MemfdSegment::open(offer, why);
  if (seg && seg->data().size() < bytes) seg.reset();
  return seg;
}

nlohmann::json slice_keys(const std::vector<const PsSlice*>& slices) {
  nlohmann::json keys = nlohmann::json::array();
  for (const PsSlice* s : slices) keys.push_back({{"name", s->key}, {"numel", s->numel}});
  return keys;
}

}  // namespace

ParameterServerClient::ParameterServerClient(Context& ctx, std::vector<std::string> shards,
                                             std::vector<PsKey> keys, PsClientOptions options)
    : options_(std::move(options)), keys_(std::move(keys)) {
  keep_large_blocks_on_heap();
  RM_THROW_IF(shards.empty(), "parameter server: no shard endpoints");
  RM_THROW_IF(options_.world < 1 || options_.rank < 0 || options_.rank >= options_.world,
              "parameter server: rank ", options_.rank, " is outside world ", options_.world);
  RM_THROW_IF(options_.staleness < 0, "parameter server: staleness must be >= 0");
  RM_THROW_IF(options_.timeout.count() < 1, "parameter server: timeout must be >= 1 ms");
  RM_THROW_IF(!options_.update.is_object(), "parameter server: update must be a JSON object");
  plan_ = plan_ps_slices(keys_, static_cast<int>(shards.size()), options_.slice_elems);
  for (size_t i = 0; i < shards.size(); ++i) {
    auto s = std::make_unique<Shard>();
    s->index = static_cast<int>(i);
    s->endpoint = shards[i];
    SocketOptions so;
    so.max_frame_bytes = options_.max_message_bytes;
    so.send_high_water_mark = 100;
    if (!options_.curve_secret_key.empty()) {
      so.curve_public_key = options_.curve_public_key;
      so.curve_secret_key = options_.curve_secret_key;
      so.curve_server_key =
          options_.curve_server_key.empty() ? options_.curve_public_key : options_.curve_server_key;
    }
    s->socket = std::make_unique<Socket>(ctx, SocketKind::kDealer, so);
    s->socket->connect(s->endpoint);
    shards_.push_back(std::move(s));
  }
  for (const PsSlice& s : plan_) {
    Shard& sh = *shards_[static_cast<size_t>(s.shard)];
    sh.slices.push_back(&s);
    sh.total += s.numel;
  }
  for (const auto& sh : shards_)
    RM_THROW_IF(sh->slices.empty(), "parameter server: shard ", sh->index,
                " would hold no keys; use fewer shards or a smaller slice_elems");
}

ParameterServerClient::~ParameterServerClient() = default;

int ParameterServerClient::shared_memory_shards() const {
  int n = 0;
  for (const auto& sh : shards_) n += sh->segment != nullptr;
  return n;
}

WireCounters ParameterServerClient::counters() const {
  WireCounters all;
  for (const auto& sh : shards_) all += sh->socket->counters();
  return all;
}

nlohmann::json ParameterServerClient::base_header(int64_t rid) const {
  return {{"job_id", options_.job_id}, {"rank", options_.rank}, {"rid", rid}};
}

std::vector<Message> ParameterServerClient::exchange(const std::string& what,
                                                     std::vector<Message> requests,
                                                     std::chrono::milliseconds wait) {
  try {
    return exchange_once(what, std::move(requests), wait);
  } catch (const PsError&) {
    for (auto& sh : shards_) sh->segment.reset();
    throw;
  }
}

std::vector<Message> ParameterServerClient::exchange_once(const std::string& what,
                                                          std::vector<Message> requests,
                                                          std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  std::vector<int64_t> rids(shards_.size());
  for (size_t i = 0; i < shards_.size(); ++i) {
    rids[i] = next_rid_++;
    requests[i].header["rid"] = rids[i];
    if (!shards_[i]->socket->send(Envelope{std::string(), encode(std::move(requests[i]))}))
      throw PsError("no_reply", "parameter server: cannot send " + what + " to shard " +
                                    std::to_string(i) + " (" + shards_[i]->endpoint +
                                    "): its queue is full");
  }
  std::vector<Message> replies(shards_.size());
  for (size_t i = 0; i < shards_.size(); ++i) {
    const Shard& sh = *shards_[i];
    const std::string who =
        "parameter server shard " + std::to_string(i) + " (" + sh.endpoint + ")";
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      std::optional<Envelope> env;
      if (left.count() > 0) env = sh.socket->receive(std::min(left, kCancelPoll));
      if (!env && options_.cancel != nullptr && options_.cancel->load())
        throw PsError("cancelled", who + ": " + what + " given up: the run was cancelled (job '" +
                                       options_.job_id + "', rank " +
                                       std::to_string(options_.rank) + ")");
      if (!env && Clock::now() < deadline) continue;
      if (!env) {
        throw PsError("no_reply", who + ": no reply to " + what + " within " +
                                      std::to_string(wait.count()) + " ms (job '" +
                                      options_.job_id + "', rank " + std::to_string(options_.rank) +
                                      ")");
      }
      Message m;
      try {
        m = decode(std::move(env->frames), env->overflow);
      } catch (const ProtocolError& e) {
        throw PsError("bad_reply", who + ": bad reply to " + what + ": " + e.what());
      }
      auto rid = m.header.find("rid");
      if (rid == m.header.end() || !rid->is_number_integer() || rid->get<int64_t>() != rids[i])
        continue;  // a late reply to an earlier request
      if (m.type == "error") {
        const int silent = m.header.value("silent_rank", -1);
        throw PsError(m.header.at("code").get<std::string>(),
                      who + ": " + what + " failed: " + m.header.at("message").get<std::string>(),
                      silent);
      }
      replies[i] = std::move(m);
      break;
    }
  }
  return replies;
}

void ParameterServerClient::init(const PsTensors* weights) {
  std::vector<Message> requests;
  std::vector<ops::Tensor> keep;
  const std::string host = shared_memory_allowed(options_) ? same_host_id() : "";
  for (const auto& sh : shards_) {
    nlohmann::json h = base_header(0);
    if (!host.empty()) h["host"] = host;
    h["world"] = options_.world;
    h["mode"] = ps_mode_name(options_.mode);
    h["staleness"] = options_.staleness;
    h["timeout_ms"] = options_.timeout.count();
    h["shard"] = sh->index;
    h["shards"] = static_cast<int>(shards_.size());
    h["update"] = options_.update;
    h["has_data"] = weights != nullptr;
    h["keys"] = slice_keys(sh->slices);
    Message m{"ps_init", std::move(h), {}};
    if (weights != nullptr) {
      std::string data(static_cast<size_t>(sh->total) * sizeof(float), '\0');
      char* dst = data.data();
      for (const PsSlice* s : sh->slices) {
        int64_t numel = 0;
        for (const PsKey& k : keys_)
          if (k.name == s->tensor) numel = k.numel;
        const float* src = tensor_data(*weights, s->tensor, numel, keep) + s->offset;
        std::memcpy(dst, src, static_cast<size_t>(s->numel) * sizeof(float));
        dst += s->numel * static_cast<int64_t>(sizeof(float));
      }
      m.payload.push_back(std::move(data));
    }
    requests.push_back(std::move(m));
  }
  const std::vector<Message> replies =
      exchange("init", std::move(requests), options_.timeout + options_.grace);
  for (size_t i = 0; i < shards_.size(); ++i)
    shards_[i]->segment =
        open_offered_segment(replies[i], static_cast<uint64_t>(shards_[i]->total) * sizeof(float));
}

void ParameterServerClient::push(int64_t step, const PsTensors& grads) {
  RM_THROW_IF(step < 0, "parameter server: step must be >= 0");
  std::map<std::string, int64_t> numel;
  for (const PsKey& k : keys_) numel[k.name] = k.numel;
  const bool fp16 = options_.compression == Compression::kFp16;
  std::vector<ops::Tensor> keep;
  std::vector<Message> requests;
  std::vector<float> tmp;
  last_push_bytes_ = 0;
  for (const auto& sh : shards_) {
    nlohmann::json keys = nlohmann::json::array();
    const size_t bytes = static_cast<size_t>(sh->total) * (fp16 ? 2 : 4);
    // Straight into the shard's segment when there is one.
    std::string data(sh->segment ? 0 : bytes, '\0');
    char* dst = sh->segment ? reinterpret_cast<char*>(sh->segment->data().data()) : data.data();
    for (const PsSlice* s : sh->slices) {
      const float* src = tensor_data(grads, s->tensor, numel.at(s->tensor), keep) + s->offset;
      const auto n = static_cast<size_t>(s->numel);
      nlohmann::json key = {{"name", s->key}, {"numel", s->numel}};
      if (fp16) {
        // Error feedback: encode g + residual, keep what fp16 could not carry.
        std::vector<float>& r = residual_[s->key];
        if (r.empty()) r.assign(n, 0.0f);
        tmp.resize(n);
        for (size_t i = 0; i < n; ++i) tmp[i] = src[i] + r[i];
        const float scale =
            ps_encode_fp16(tmp.data(), s->numel, reinterpret_cast<uint16_t*>(dst), r.data());
        key["scale"] = scale;
        dst += n * 2;
      } else {
        std::memcpy(dst, src, n * sizeof(float));
        dst += n * sizeof(float);
      }
      keys.push_back(std::move(key));
    }
    last_push_bytes_ += static_cast<int64_t>(bytes);
    nlohmann::json h = base_header(0);
    h["step"] = step;
    h["compression"] = to_string(options_.compression);
    h["keys"] = std::move(keys);
    if (sh->segment) h["shm"] = true;
    Message m{"ps_push", std::move(h), {}};
    if (!sh->segment) m.payload.push_back(std::move(data));
    requests.push_back(std::move(m));
  }
  exchange("push of step " + std::to_string(step), std::move(requests),
           options_.timeout + options_.grace);
}

void ParameterServerClient::pull(int64_t step, PsTensors& weights) {
  RM_THROW_IF(step < 0, "parameter server: step must be >= 0");
  std::map<std::string, int64_t> numel;
  for (const PsKey& k : keys_) numel[k.name] = k.numel;
  // Destinations first, so a bad one throws before anything is sent.
  std::map<std::string, float*> dst;
  for (const PsKey& k : keys_) {
    ops::Tensor& t = weights[k.name];
    if (!t.defined()) t = ops::Tensor::empty({k.numel});
    RM_THROW_IF(t.dtype() != ops::DType::f32 || !t.device().is_cpu() || !t.is_plain(),
                "parameter server: weights for key '", k.name,
                "' must be plain f32 on the CPU, got ", ops::to_string(t));
    RM_THROW_IF(t.numel() != k.numel, "parameter server: key '", k.name, "' has ", t.numel(),
                " elements, expected ", k.numel);
    dst[k.name] = t.data<float>();
  }
  std::vector<Message> requests;
  for (size_t i = 0; i < shards_.size(); ++i) {
    nlohmann::json h = base_header(0);
    h["step"] = step;
    if (shards_[i]->segment) h["shm"] = true;
    requests.push_back(Message{"ps_pull", std::move(h), {}});
  }
  const std::string what = "pull of step " + std::to_string(step);
  std::vector<Message> replies =
      exchange(what, std::move(requests), options_.timeout + options_.grace);
  PsPullInfo info{INT64_MAX, INT64_MAX};
  for (size_t i = 0; i < shards_.size(); ++i) {
    const Shard& sh = *shards_[i];
    const Message& m = replies[i];
    const std::string who = "parameter server shard " + std::to_string(i) + " (" + sh.endpoint +
                            "): bad reply to " + what + ": ";
    if (m.type != "ps_weights") throw PsError("bad_reply", who + "got " + m.type);
    const auto& keys = m.header.at("keys");
    bool same = keys.size() == sh.slices.size();
    for (size_t k = 0; same && k < keys.size(); ++k)
      same = keys[k].at("name").get_ref<const std::string&>() == sh.slices[k]->key &&
             keys[k].at("numel").get<int64_t>() == sh.slices[k]->numel;
    if (!same) throw PsError("bad_reply", who + "the keys are not the ones this client placed");
    const char* src = nullptr;
    if (m.header.value("shm", false)) {
      if (!sh.segment || !m.payload.empty())
        throw PsError("bad_reply", who + "weights in a shared-memory segment this client lacks");
      src = reinterpret_cast<const char*>(sh.segment->data().data());
    } else {
      if (m.payload.size() != 1 ||
          m.payload[0].size() != static_cast<size_t>(sh.total) * sizeof(float))
        throw PsError("bad_reply",
                      who + "the payload is not " + std::to_string(sh.total * 4) + " bytes");
      src = m.payload[0].data();
    }
    for (const PsSlice* s : sh.slices) {
      const size_t bytes = static_cast<size_t>(s->numel) * sizeof(float);
      std::memcpy(dst.at(s->tensor) + s->offset, src, bytes);
      src += bytes;
    }
    info.version = std::min(info.version, m.header.at("version").get<int64_t>());
    info.min_clock = std::min(info.min_clock, m.header.at("min_clock").get<int64_t>());
  }
  last_pull_ = info;
}

void ParameterServerClient::finish() {
  std::vector<Message> requests;
  for (size_t i = 0; i < shards_.size(); ++i)
    requests.push_back(Message{"ps_done", base_header(0), {}});
  exchange("done", std::move(requests), options_.timeout + options_.grace);
}

double ParameterServerClient::residual_l1() const {
  double sum = 0.0;
  for (const auto& [key, r] : residual_)
    for (float v : r) sum += std::fabs(v);
  return sum;
}

}  // namespace ringmaster::comm
