// The wire format: every message type round-trips, and every kind of bad
// input (too few frames, garbage frame 0, wrong version, unknown type, header
// that is not JSON or not an object, missing / mistyped / out-of-range
// fields, too many frames) is a ProtocolError with its code, never a crash.
#include "comm/message.h"

#include <gtest/gtest.h>

namespace ringmaster::comm {
namespace {

std::string code_of(const std::vector<std::string>& frames, bool overflow = false) {
  try {
    decode(frames, overflow);
  } catch (const ProtocolError& e) {
    return e.code();
  }
  return "ok";
}

TEST(Message, RoundTripsWithPayload) {
  Message m{"assign", {{"job_id", "job-1"}, {"spec", {{"name", "x"}}}, {"threads", 4}}, {"raw\0b"}};
  const auto frames = encode(m);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], "assign/1");
  const Message back = decode(frames);
  EXPECT_EQ(back.type, "assign");
  EXPECT_EQ(back.header, m.header);
  EXPECT_EQ(back.payload, m.payload);
}

TEST(Message, EveryTypeHasASchemaThatAcceptsAValidHeader) {
  const std::map<std::string, nlohmann::json> valid = {
      {"register",
       {{"hostname", "h"},
        {"pid", 1},
        {"cores", 2},
        {"memory_bytes", 0},
        {"gpus", 0},
        {"slots", 1},
        {"tasks", {{{"job_id", "job-1"}, {"state", "running"}}}}}},
      {"registered", {{"worker_id", "w"}, {"heartbeat_interval_ms", 1000}}},
      {"heartbeat", {{"running", nlohmann::json::array()}}},
      {"heartbeat_ack", nlohmann::json::object()},
      {"assign", {{"job_id", "j"}, {"spec", nlohmann::json::object()}, {"threads", 0}}},
      {"rendezvous", {{"job_id", "j"}, {"rank", 1}, {"endpoint", "tcp://127.0.0.1:5000"}}},
      {"peers", {{"job_id", "j"}, {"ring", {"tcp://127.0.0.1:5000", "tcp://127.0.0.1:5001"}}}},
      {"progress", {{"job_id", "j"}, {"kind", "step"}, {"report", nlohmann::json::object()}}},
      {"log", {{"job_id", "j"}, {"lines", {"a", "b"}}}},
      {"finished", {{"job_id", "j"}, {"result", nlohmann::json::object()}, {"cancelled", false}}},
      {"failed", {{"job_id", "j"}, {"reason", "r"}}},
      {"cancel", {{"job_id", "j"}}},
      {"ack", {{"job_id", "j"}}},
      {"error", {{"code", "c"}, {"message", "m"}}},
      {"ps_init",
       {{"job_id", "j"},
        {"rank", 0},
        {"rid", 1},
        {"world", 2},
        {"mode", "bsp"},
        {"staleness", 0},
        {"timeout_ms", 1000},
        {"shard", 0},
        {"shards", 1},
        {"update", nlohmann::json::object()},
        {"has_data", false},
        {"keys", {{{"name", "w"}, {"numel", 3}}}}}},
      {"ps_push",
       {{"job_id", "j"},
        {"rank", 0},
        {"rid", 2},
        {"step", 0},
        {"compression", "fp16"},
        {"keys", {{{"name", "w"}, {"numel", 3}, {"scale", 0.5}}}}}},
      {"ps_pull", {{"job_id", "j"}, {"rank", 0}, {"rid", 3}, {"step", 1}}},
      {"ps_done", {{"job_id", "j"}, {"rank", 0}, {"rid", 4}}},
      {"ps_ok", {{"rid", 1}, {"version", 0}}},
      {"ps_weights",
       {{"rid", 3}, {"version", 1}, {"min_clock", 1}, {"keys", {{{"name", "w"}, {"numel", 3}}}}}}};
  for (const auto& type : message_types()) {
    ASSERT_TRUE(valid.count(type)) << "add a valid header for " << type << " to this test";
    EXPECT_EQ(decode(encode({type, valid.at(type), {}})).type, type);
  }
}

TEST(Message, BadInputIsAProtocolErrorWithItsCode) {
  struct Case {
    const char* what;
    std::vector<std::string> frames;
    const char* code;
  };
  const std::string ok_header = R"({"job_id": "j"})";
  const std::vector<Case> cases = {
      {"no frames", {}, "bad_frames"},
      {"truncated: frame 0 only", {"ack/1"}, "bad_frames"},
      {"garbage frame 0", {"\x01\x02\xff", ok_header}, "bad_frames"},
      {"no version", {"ack", ok_header}, "bad_frames"},
      {"version not a number", {"ack/x", ok_header}, "bad_frames"},
      {"version with junk", {"ack/1junk", ok_header}, "bad_frames"},
      {"empty type", {"/1", ok_header}, "bad_frames"},
      {"newer version", {"ack/2", ok_header}, "bad_version"},
      {"unknown type", {"reboot/1", ok_header}, "unknown_type"},
      {"header not JSON", {"ack/1", "{\"job_id\": "}, "bad_header"},
      {"header binary garbage", {"ack/1", std::string("\x00\xff\xfe", 3)}, "bad_header"},
      {"header an array", {"ack/1", "[1, 2]"}, "bad_header"},
      {"required field missing", {"ack/1", "{}"}, "bad_field"},
      {"wrong type", {"ack/1", R"({"job_id": 7})"}, "bad_field"},
      {"negative size",
       {"register/1", R"({"hostname": "h", "pid": 1, "cores": -4,
         "memory_bytes": 0, "gpus": 0, "slots": 1})"},
       "bad_field"},
      {"absurd size",
       {"register/1", R"({"hostname": "h", "pid": 1, "cores": 1e30,
         "memory_bytes": 0, "gpus": 0, "slots": 1})"},
       "bad_field"},
      {"value not allowed",
       {"progress/1", R"({"job_id": "j", "kind": "nap", "report": {}})"},
       "bad_field"},
      {"nested element wrong", {"heartbeat/1", R"({"running": ["a", 3]})"}, "bad_field"},
      {"header too large", {"ack/1", std::string(kMaxHeaderBytes + 1, ' ')}, "bad_header"},
      {"header nested too deep",
       {"ack/1",
        R"({"job_id": "j", "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}"},
       "bad_header"},
      {"duplicate key", {"ack/1", R"({"job_id": "a", "job_id": "b"})"}, "bad_header"},
      {"bytes after the header", {"ack/1", R"({"job_id": "a"} {})"}, "bad_header"},
      {"NUL after the header", {"ack/1", std::string(R"({"job_id": "a"})") + '\0'}, "bad_header"},
  };
  for (const auto& c : cases) EXPECT_EQ(code_of(c.frames), c.code) << c.what;
  EXPECT_EQ(code_of({"ack/1", ok_header}, /*overflow=*/true), "bad_frames");
}

TEST(Message, EncodeRefusesWhatDecodeWouldRefuse) {
  EXPECT_THROW(encode({"ack", nlohmann::json::object(), {}}), ProtocolError);
  EXPECT_THROW(encode({"no_such_type", nlohmann::json::object(), {}}), ProtocolError);
  EXPECT_THROW(encode({"ack", nlohmann::json::array(), {}}), ProtocolError);
}

TEST(Message, ErrorMessageCarriesWhatItAnswers) {
  const Message e = decode(encode(make_error("bad_field", "header field /x is missing", "ack")));
  EXPECT_EQ(e.header["code"], "bad_field");
  EXPECT_EQ(e.header["in_reply_to"], "ack");
}

}  // namespace
}  // namespace ringmaster::comm
