// The control-plane message types and their header schemas, plus encode and
// decode (see message.h). Adding a message type is one entry in kSchemas.
// Headers may carry fields a schema does not list (newer peers of the same
// version); only listed fields are checked, and required ones must be there.
#include "comm/message.h"

#include "ops/bounded_json.h"

#include <charconv>
#include <cmath>
#include <iterator>
#include <string_view>

namespace ringmaster::comm {
namespace {

enum class Kind { kString, kInteger, kNumber, kBoolean, kObject, kStringArray, kObjectArray };

struct Schema;

struct Field {
  const char* name;
  Kind kind;
  bool required = true;
  double min = 0.0;                      // integers and numbers
  double max = 9.0e15;                   // integers and numbers; strings and arrays: max length
  const Schema* element = nullptr;       // kObject / kObjectArray: schema of the object(s)
  std::vector<std::string> one_of = {};  // kString: allowed values (empty: any)
};

struct Schema {
  const char* type;
  std::vector<Field> fields;
};

constexpr double kMaxString = 64 * 1024;
constexpr double kMaxId = 256;
constexpr double kMaxAttempt = 1.0e9;

// A task a (re-)registering worker reports: still running, or finished while
// the coordinator could not hear it.
const Schema kTaskSchema{"task",
                         {{"job_id", Kind::kString, true, 0, kMaxId},
                          {"state",
                           Kind::kString,
                           true,
                           0,
                           32,
                           nullptr,
                           {"running", "succeeded", "failed", "cancelled"}},
                          {"result", Kind::kObject, false},
                          {"reason", Kind::kString, false, 0, kMaxString},
                          {"attempt", Kind::kInteger, false, 0, kMaxAttempt},
                          {"peer_lost", Kind::kBoolean, false}}};

// Parameter server (comm/ps_*.h): a key in a push / pull / init header.
const Schema kPsKeySchema{"ps_key",
                          {{"name", Kind::kString, true, 0, 1024},
                           {"numel", Kind::kInteger, true, 1, 1.0e12},
                           {"scale", Kind::kNumber, false, 0, 3.4e38}}};

// A shard's shared-memory segment for a rank on its host (memfd_segment.h).
const Schema kPsSegmentSchema{"ps_segment",
                              {{"pid", Kind::kInteger, true, 1, 4194304},
                               {"fd", Kind::kInteger, true, 0, 1 << 30},
                               {"cookie", Kind::kString, true, 16, 16},
                               {"bytes", Kind::kInteger, true, 1, 1.0e13}}};
constexpr double kMaxPsKeys = 20000;  // the 1 MiB header limit binds first

const std::vector<Schema> kSchemas = {
    // worker -> coordinator
    {"register",
     {{"hostname", Kind::kString, true, 0, kMaxId},
      {"pid", Kind::kInteger, true, 0, 4194304},
      {"cores", Kind::kInteger, true, 1, 4096},
      {"memory_bytes", Kind::kInteger, true, 0, 9.0e15},
      {"gpus", Kind::kInteger, true, 0, 64},
      {"slots", Kind::kInteger, true, 1, 256},
      {"tasks", Kind::kObjectArray, false, 0, 256, &kTaskSchema}}},
    {"heartbeat", {{"running", Kind::kStringArray, true, 0, 256}}},
    // A task's reports carry its attempt (the job's restarts when assigned;
    // absent: any), so a late one from an earlier attempt is ignored.
    {"progress",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"kind", Kind::kString, true, 0, 16, nullptr, {"step", "epoch"}},
      {"report", Kind::kObject, true},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},
    {"log",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"lines", Kind::kStringArray, true, 0, 1000},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},
    {"finished",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"result", Kind::kObject, true},
      {"cancelled", Kind::kBoolean, true},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},
    {"failed",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"reason", Kind::kString, true, 0, kMaxString},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt},
      {"peer_lost", Kind::kBoolean, false},  // a data-parallel peer died: restart, not fail
      {"busy", Kind::kBoolean, false},       // refused: the worker still runs another task,
      {"busy_job_id", Kind::kString, false, 0, kMaxId},  // this one (absent: none, it is stopping)
      {"busy_attempt", Kind::kInteger, false, 0, kMaxAttempt}}},
    // A data-parallel rank's ring endpoint, once it listens.
    {"rendezvous",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"rank", Kind::kInteger, true, 0, 4095},
      {"endpoint", Kind::kString, true, 0, kMaxId},
      {"nccl_id", Kind::kString, false, 0, 1024},  // rank 0 on GPUs: NCCL unique id, hex
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},
    // coordinator -> worker
    {"registered",
     {{"worker_id", Kind::kString, true, 0, kMaxId},
      {"heartbeat_interval_ms", Kind::kInteger, true, 1, 3600000}}},
    {"heartbeat_ack", {}},
    {"assign",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"spec", Kind::kObject, true},
      {"threads", Kind::kInteger, true, 0, 4096},
      {"rank", Kind::kInteger, false, 0, 4095},        // absent: 0
      {"world_size", Kind::kInteger, false, 1, 4096},  // absent: 1
      // The job's restarts so far (absent: 0); > 0: resume from its checkpoint.
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt},
      // With CURVE: the attempt's ring keypair, the same for every rank, so
      // only its ranks can join the ring (Z85).
      {"ring_public_key", Kind::kString, false, 40, 40},
      {"ring_secret_key", Kind::kString, false, 40, 40}}},
    // Every rank's ring endpoint (rank order) once all have rendezvoused, and
    // the job's parameter-server shards in mode "ps".
    {"peers",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"ring", Kind::kStringArray, true, 0, 4096},
      {"ps", Kind::kStringArray, false, 0, 256},
      {"nccl_id", Kind::kString, false, 0, 1024}}},
    {"cancel",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"reason", Kind::kString, false, 0, kMaxString},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},  // absent: whatever runs
    {"ack",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"attempt", Kind::kInteger, false, 0, kMaxAttempt}}},  // absent: every attempt
    // parameter server: client -> shard (every request has job_id, rank, rid)
    {"ps_init",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"rank", Kind::kInteger, true, 0, 65535},
      {"rid", Kind::kInteger, true, 0, 9.0e15},
      {"world", Kind::kInteger, true, 1, 65536},
      {"mode", Kind::kString, true, 0, 8, nullptr, {"bsp", "ssp"}},
      {"staleness", Kind::kInteger, true, 0, 1000000},
      {"timeout_ms", Kind::kInteger, true, 1, 86400000},
      {"shard", Kind::kInteger, true, 0, 65535},
      {"shards", Kind::kInteger, true, 1, 65536},
      {"update", Kind::kObject, true},
      {"has_data", Kind::kBoolean, true},
      {"keys", Kind::kObjectArray, true, 0, kMaxPsKeys, &kPsKeySchema},
      {"host", Kind::kString, false, 0, 512}}},  // same_host_id(): asks for a segment
    {"ps_push",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"rank", Kind::kInteger, true, 0, 65535},
      {"rid", Kind::kInteger, true, 0, 9.0e15},
      {"step", Kind::kInteger, true, 0, 9.0e15},
      {"compression", Kind::kString, true, 0, 8, nullptr, {"none", "fp16"}},
      {"keys", Kind::kObjectArray, true, 0, kMaxPsKeys, &kPsKeySchema},
      {"shm", Kind::kBoolean, false}}},  // the gradients are in the rank's segment
    {"ps_pull",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"rank", Kind::kInteger, true, 0, 65535},
      {"rid", Kind::kInteger, true, 0, 9.0e15},
      {"step", Kind::kInteger, true, 0, 9.0e15},
      {"shm", Kind::kBoolean, false}}},  // answer into the rank's segment
    {"ps_done",
     {{"job_id", Kind::kString, true, 0, kMaxId},
      {"rank", Kind::kInteger, true, 0, 65535},
      {"rid", Kind::kInteger, true, 0, 9.0e15}}},
    // parameter server: shard -> client
    {"ps_ok",
     {{"rid", Kind::kInteger, true, 0, 9.0e15},
      {"version", Kind::kInteger, true, 0, 9.0e15},
      {"shm", Kind::kObject, false, 0, 0, &kPsSegmentSchema}}},  // init: the rank's segment
    {"ps_weights",
     {{"rid", Kind::kInteger, true, 0, 9.0e15},
      {"version", Kind::kInteger, true, 0, 9.0e15},
      {"min_clock", Kind::kInteger, true, 0, 9.0e15},
      {"keys", Kind::kObjectArray, true, 0, kMaxPsKeys, &kPsKeySchema},
      {"shm", Kind::kBoolean, false}}},  // the weights are in the rank's segment
    // both ways
    {"error",
     {{"code", Kind::kString, true, 0, kMaxId},
      {"message", Kind::kString, true, 0, kMaxString},
      {"in_reply_to", Kind::kString, false, 0, kMaxId}}},
};

const Schema* find_schema(std::string_view type) {
  for (const Schema& s : kSchemas)
    if (type == s.type) return &s;
  return nullptr;
}

[[noreturn]] void bad_field(const std::string& where, const std::string& what) {
  throw ProtocolError("bad_field", "header field " + where + " " + what);
}

void validate(const nlohmann::json& obj, const Schema& schema, const std::string& where);

void validate_field(const nlohmann::json& v, const Field& f, const std::string& where) {
  switch (f.kind) {
    case Kind::kString: {
      if (!v.is_string()) bad_field(where, "must be a string");
      const auto& s = v.get_ref<const std::string&>();
      if (static_cast<double>(s.size()) > f.max)
        bad_field(where, "is longer than " + std::to_string(static_cast<int64_t>(f.max)));
      if (!f.one_of.empty()) {
        bool ok = false;
        for (const auto& allowed : f.one_of) ok = ok || s == allowed;
        if (!ok) bad_field(where, "has an unknown value \"" + s.substr(0, 64) + "\"");
      }
      return;
    }
    case Kind::kInteger:
    case Kind::kNumber: {
      if (f.kind == Kind::kInteger ? !v.is_number_integer() : !v.is_number())
        bad_field(where, f.kind == Kind::kInteger ? "must be an integer" : "must be a number");
      const double d = v.get<double>();
      if (!std::isfinite(d) || d < f.min || d > f.max)
        bad_field(where, "is out of range [" + std::to_string(static_cast<int64_t>(f.min)) + ", " +
                             std::to_string(static_cast<int64_t>(f.max)) + "]");
      return;
    }
    case Kind::kBoolean:
      if (!v.is_boolean()) bad_field(where, "must be a boolean");
      return;
    case Kind::kObject:
      if (!v.is_object()) bad_field(where, "must be an object");
      if (f.element) validate(v, *f.element, where);
      return;
    case Kind::kStringArray:
    case Kind::kObjectArray: {
      if (!v.is_array()) bad_field(where, "must be an array");
      if (static_cast<double>(v.size()) > f.max)
        bad_field(where,
                  "has more than " + std::to_string(static_cast<int64_t>(f.max)) + " elements");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string at = where + "/" + std::to_string(i);
        if (f.kind == Kind::kStringArray) {
          if (!v[i].is_string()) bad_field(at, "must be a string");
          if (v[i].get_ref<const std::string&>().size() > kMaxString) bad_field(at, "is too long");
        } else {
          if (!v[i].is_object()) bad_field(at, "must be an object");
          if (f.element) validate(v[i], *f.element, at);
        }
      }
      return;
    }
  }
}

void validate(const nlohmann::json& obj, const Schema& schema, const std::string& where) {
  for (const Field& f : schema.fields) {
    auto it = obj.find(f.name);
    if (it == obj.end()) {
      if (f.required) bad_field(where + "/" + f.name, "is missing");
      continue;
    }
    validate_field(*it, f, where + "/" + f.name);
  }
}

}  // namespace

std::vector<std::string> message_types() {
  std::vector<std::string> out;
  for (const Schema& s : kSchemas) out.push_back(s.type);
  return out;
}

namespace {

// Frames 0 and 1 of m, validated; room reserved for the payload.
std::vector<std::string> encode_header(const Message& m) {
  const Schema* schema = find_schema(m.type);
  if (!schema) throw ProtocolError("unknown_type", "cannot encode unknown message type " + m.type);
  if (!m.header.is_object()) throw ProtocolError("bad_header", "header must be a JSON object");
  validate(m.header, *schema, "");
  std::vector<std::string> frames;
  frames.reserve(2 + m.payload.size());
  frames.push_back(m.type + "/" + std::to_string(kProtocolVersion));
  frames.push_back(m.header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return frames;
}

// Type and header of frames, validated; the payload is left to the caller.
Message decode_header(const std::vector<std::string>& frames, bool overflow);

}  // namespace

std::vector<std::string> encode(const Message& m) {
  std::vector<std::string> frames = encode_header(m);
  for (const auto& p : m.payload) frames.push_back(p);
  return frames;
}

std::vector<std::string> encode(Message&& m) {
  std::vector<std::string> frames = encode_header(m);
  for (auto& p : m.payload) frames.push_back(std::move(p));
  return frames;
}

Message decode(const std::vector<std::string>& frames, bool overflow) {
  Message m = decode_header(frames, overflow);
  m.payload.assign(frames.begin() + 2, frames.end());
  return m;
}

Message decode(std::vector<std::string>&& frames, bool overflow) {
  Message m = decode_header(frames, overflow);
  m.payload.assign(std::make_move_iterator(frames.begin() + 2),
                   std::make_move_iterator(frames.end()));
  return m;
}

namespace {

Message decode_header(const std::vector<std::string>& frames, bool overflow) {
  if (overflow)
    throw ProtocolError("bad_frames",
                        "more than " + std::to_string(kMaxFrames) + " frames in one message");
  if (frames.size() < 2)
    throw ProtocolError("bad_frames",
                        "a message needs at least 2 frames (type/version, header), got " +
                            std::to_string(frames.size()));
  const std::string& f0 = frames[0];
  const size_t slash = f0.find('/');
  if (f0.size() > 64 || slash == std::string::npos || slash == 0)
    throw ProtocolError("bad_frames", "frame 0 must be \"<type>/<version>\"");
  const std::string_view version_text = std::string_view(f0).substr(slash + 1);
  int version = -1;
  auto [end, ec] =
      std::from_chars(version_text.data(), version_text.data() + version_text.size(), version);
  if (ec != std::errc() || end != version_text.data() + version_text.size() || version < 0)
    throw ProtocolError("bad_frames", "frame 0 has no protocol version after '/'");
  if (version != kProtocolVersion)
    throw ProtocolError("bad_version", "protocol version " + std::to_string(version) +
                                           " is not supported (this side speaks " +
                                           std::to_string(kProtocolVersion) + ")");
  Message m;
  m.type = f0.substr(0, slash);
  const Schema* schema = find_schema(m.type);
  if (!schema) throw ProtocolError("unknown_type", "unknown message type \"" + m.type + "\"");
  if (frames[1].size() > kMaxHeaderBytes)
    throw ProtocolError("bad_header",
                        "header is larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
  ops::JsonParse header = ops::parse_bounded_json(frames[1]);
  if (!header.error.empty()) throw ProtocolError("bad_header", "header: " + header.error);
  m.header = std::move(header.value);
  if (!m.header.is_object()) throw ProtocolError("bad_header", "header must be a JSON object");
  validate(m.header, *schema, "");
  return m;
}

}  // namespace

Message make_error(const std::string& code, const std::string& text,
                   const std::string& in_reply_to) {
  Message m{"error", {{"code", code}, {"message", text}}, {}};
  if (!in_reply_to.empty()) m.header["in_reply_to"] = in_reply_to;
  return m;
}

}  // namespace ringmaster::comm
