// The hostile-input suite (issue 19): one cluster as an operator would run it
// off loopback (CURVE on the control plane, a worker with an allowed key)
// with a job that finished before, then what an attacker can send at every
// port it has:
//   REST: malformed, deep, huge, NUL-laden, duplicate-keyed, out-of-range,
//     path-escaping and size-overflowing job specs; bad queries and ids;
//     garbage, oversized and contradictory HTTP; random bytes;
//   control plane: strangers without CURVE or with an unknown key, raw bytes,
//     and a peer holding an allowed key sending malformed messages;
//   the worker's metrics port: garbage HTTP;
//   jobs that pass the coordinator and fail on the worker (a file shaped
//     like /etc/shadow inside a data root, a model too big for the worker).
// Every REST answer is a 4xx (or the connection closed), every stranger is
// refused, and afterwards the coordinator, the worker and the earlier job are
// all still there and a new job trains. One test: one CI entry.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "cluster_fixture.h"
#include "comm/curve.h"
#include "comm/message.h"
#include "comm/transport.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::ClusterTest;
using testing_support::RawHttp;

const std::string kSecret = "root:$6$S3CRETsalt$Hash0fThePassw0rd:19000:0:99999:7:::\n";

class HostileInputTest : public ClusterTest {
 protected:
  // `bytes` on a connection of its own: the answer's status, or -1 when the
  // server closed the connection without one.
  int status_of(const std::string& bytes) {
    RawHttp c(http_port_, 10000);
    c.send_raw(bytes);  // may fail half way: the server answered and closed
    try {
      return c.read_response().status;
    } catch (const std::exception&) {
      return -1;
    }
  }
  static std::string post(const std::string& target, const std::string& body,
                          const std::string& content_type = "application/json") {
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static std::string get(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  double metric(uint16_t port, const std::string& name) {
    const std::string text = RawHttp(port).request("GET", "/metrics").body;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("\n" + name + "(\\{[^}]*\\})? ([0-9.e+]+)")))
      return -1;
    return std::stod(m[2]);
  }
  uint16_t worker_metrics_port(const std::string& name) {
    const std::regex line(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)");
    uint16_t port = 0;
    wait_for("the worker's metrics port", [&] {
      std::smatch m;
      const std::string out = workers_[name]->output();
      if (std::regex_search(out, m, line)) port = static_cast<uint16_t>(std::stoi(m[1]));
      return port != 0;
    });
    return port;
  }
  // A DEALER's options: CURVE with `keys`, the coordinator's public key.
  comm::SocketOptions curve_client(const std::string& identity, const comm::CurveKeypair& keys) {
    comm::SocketOptions o;
    o.identity = identity;
    o.curve_secret_key = keys.secret_key;
    o.curve_public_key = keys.public_key;
    o.curve_server_key = comm::read_curve_public_key(path("coord.pub"));
    return o;
  }
  std::string job_spec(const std::string& name, const nlohmann::json& patch) {
    nlohmann::json j = nlohmann::json::parse(testing_support::slurp(write_spec(name, 1, 100)));
    j.merge_patch(patch);
    return j.dump();
  }
  std::string submit_body(const std::string& body) {
    const testing_support::RawResponse r =
        RawHttp(http_port_)
            .request("POST", "/v1/jobs", body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  void rest_bodies();
  void rest_routes_and_raw_http();
  void control_plane_strangers();
  void allowed_key_sending_garbage();
  void worker_metrics_garbage(uint16_t port);
  void jobs_that_fail_on_the_worker();
};

// Job specs the coordinator must refuse with a 4xx naming the problem.
void HostileInputTest::rest_bodies() {
  fs::create_directory_symlink("/etc", dir_ / "etc-link");
  const std::string deep_object = [] {
    std::string s;
    for (int i = 0; i < 50000; ++i) s += "{\"a\":";
    return s;
  }();
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"truncated", R"({"name": )"},
      {"deep array", std::string(200000, '[')},
      {"deep object", deep_object},
      {"NUL after the value", std::string(R"({"name": "a"})") + '\0'},
      {"NUL inside", std::string("{\"name\": \"a\0b\"}", 15)},
      {"escaped NUL in the name", R"({"name": "a\u0000b"})"},
      {"duplicate key", R"({"name": "a", "name": "b"})"},
      {"past a double", R"({"train": {"epochs": 1e999}})"},
      {"past an int64", R"({"train": {"epochs": 99999999999999999999999}})"},
      {"negative size", R"({"train": {"batch_size": -1}})"},
      {"size past 2^62", R"({"train": {"batch_size": 4611686018427387904}})"},
      {"widths past the limit", R"({"model": {"name": "mlp", "hidden": [4611686018427387904]}})"},
      {"two values", "{} {}"},
      {"an array", "[]"},
      {"a string", "\"x\""},
      {"null", "null"},
      {"invalid UTF-8", "{\"name\": \"\xff\xfe\"}"},
      {"lone surrogate", R"({"name": "\ud800"})"},
      {"unknown field", R"({"nmae": "a"})"},
      {"wrong type", R"({"train": {"epochs": "3"}})"},
      {"unknown model", R"({"model": {"name": "nope"}})"},
      {"data outside the roots", job_spec("p1", {{"data", {{"path", "/etc/shadow"}}}})},
      {"data through ..",
       job_spec("p2", {{"data", {{"path", (dir_ / "../../../../etc/passwd").string()}}}})},
      {"data through a link",
       job_spec("p3", {{"data", {{"path", (dir_ / "etc-link" / "passwd").string()}}}})},
      {"init from /etc/shadow",
       job_spec("p4", {{"model", {{"name", "mlp"}, {"init", {{"checkpoint", "/etc/shadow"}}}}}})},
      {"checkpoint outside the root",
       job_spec("p5", {{"checkpoint", {{"path", "/etc/cron.d/x.safetensors"}}}})},
  };
  for (const auto& [what, body] : bodies) {
    const int status = status_of(post("/v1/jobs", body));
    EXPECT_GE(status, 400) << what;
    EXPECT_LT(status, 500) << what;
  }
  EXPECT_EQ(status_of(post("/v1/jobs", std::string(2 << 20, ' '))), 413);
  EXPECT_EQ(status_of(post("/v1/jobs", "{}", "text/plain")), 415);
}

void HostileInputTest::rest_routes_and_raw_http() {
  for (const std::string& target : std::vector<std::string>{
           "/v1/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/v1/jobs/" + std::string(8000, 'a'),
           "/v1/jobs?limit=-1", "/v1/jobs?limit=abc", "/v1/jobs?limit=1e99", "/v1/jobs?state=NOPE",
           "/v1/jobs/nope/logs?since=-5", "/v1/jobs/nope/logs?since=zz", "/v1/nothing", "/%00"}) {
    const int status = status_of(get(target));
    EXPECT_GE(status, 400) << target;
    EXPECT_LT(status, 500) << target;
  }
  for (const std::string& raw : std::vector<std::string>{
           std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS hello
           "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
           "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
           std::string("GET /\0 HTTP/1.1\r\n\r\n", 19),
           "POST /v1/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
           "POST /v1/jobs HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "POST /v1/jobs HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
           "PUT /v1/jobs HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
           "DELETE /v1/jobs/nope HTTP/1.1\r\n\r\n",
       }) {
    const int status = status_of(raw);
    EXPECT_TRUE(status == -1 || (status >= 400 && status < 500)) << status << ": " << raw;
  }
  // Random bytes, and random bytes after a valid request line: bounded in count.
  std::mt19937 rng(19);
  for (int i = 0; i < 100; ++i) {
    std::string bytes(1 + rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (i % 2) bytes = "POST /v1/jobs HTTP/1.1\r\n" + bytes;
    const int status = status_of(bytes);
    EXPECT_TRUE(status == -1 || (status >= 400 && status < 500)) << "random input " << i;
  }
}

// Strangers on the control plane: no CURVE, an unknown key, raw bytes.
void HostileInputTest::control_plane_strangers() {
  const double refused_before = metric(http_port_, "ringmaster_control_auth_refused_total");
  comm::Context ctx;
  comm::Message reg;
  reg.type = "register";
  reg.header = {{"hostname", "evil"},      {"pid", 1},  {"cores", 64},
                {"memory_bytes", 1 << 30}, {"gpus", 0}, {"slots", 1}};
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(zmq_port_);
  comm::SocketOptions plain;
  plain.identity = "stranger-plain";
  comm::Socket a(ctx, comm::SocketKind::kDealer, plain);
  a.connect(endpoint);
  const comm::CurveKeypair unknown = comm::make_curve_keypair();
  comm::Socket b(ctx, comm::SocketKind::kDealer, curve_client("stranger-key", unknown));
  b.connect(endpoint);
  for (int i = 0; i < 5; ++i) {  // bounded: a few tries each
    a.send("", reg);
    b.send("", reg);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_FALSE(a.receive(500ms).has_value());
  EXPECT_FALSE(b.receive(500ms).has_value());
  {  // raw bytes at the ZMTP port
    RawHttp raw(zmq_port_, 2000);
    std::string junk(65536, '\0');
    std::mt19937 rng(7);
    for (char& c : junk) c = static_cast<char>(rng());
    raw.send_raw(junk);
  }
  wait_for("the strangers' refusals counted", [&] {
    return metric(http_port_, "ringmaster_control_auth_refused_total") >= refused_before + 1;
  });
}

// A peer with an allowed key (a stolen worker key, say) sending malformed
// messages: each is answered or dropped, counted, and changes nothing.
void HostileInputTest::allowed_key_sending_garbage() {
  const double bad_before = metric(http_port_, "ringmaster_control_bad_messages_total");
  comm::Context ctx;
  const comm::CurveKeypair w1 = comm::read_curve_keypair(path("w1.key"));
  comm::Socket s(ctx, comm::SocketKind::kDealer, curve_client("intruder", w1));
  s.connect("tcp://127.0.0.1:" + std::to_string(zmq_port_));
  const std::vector<std::vector<std::string>> garbage = {
      {"register/999", "{}"},                                   // a version we do not speak
      {"nonsense/1", "{}"},                                     // an unknown type
      {"register/1", std::string(100000, '[')},                 // a header nested past any stack
      {"register/1", R"({"hostname": "x", "hostname": "y"})"},  // a key twice
      {"register/1", std::string("{\"hostname\": \"x\"}\0", 18)},
      {"register/1", R"({"hostname": "x", "pid": 1e999, "cores": 1, "memory_bytes": 1,
                         "gpus": 0, "slots": 1})"},
      {"progress/1", R"({"job_id": "job-1", "kind": "step", "report": {}})"},  // not a worker
      {"finished/1", R"({"job_id": "job-1", "result": {}, "cancelled": false})"},
      std::vector<std::string>(100, "x"),  // more frames than any message has
      {},
  };
  for (const auto& frames : garbage) {
    comm::Envelope env;
    env.frames = frames;
    if (env.frames.empty()) env.frames = {""};
    s.send(env);
  }
  wait_for("the malformed messages counted", [&] {
    return metric(http_port_, "ringmaster_control_bad_messages_total") >= bad_before + 6;
  });
}

void HostileInputTest::worker_metrics_garbage(uint16_t port) {
  for (const std::string& raw : std::vector<std::string>{
           std::string("\x16\x03\x01\x02\x00", 5),
           "GET / HTTP/1.1\r\nX: " + std::string(70000, 'a'),
           std::string("GET /metrics\0 HTTP/1.1\r\n\r\n", 26), "GET " + std::string(9000, '/')}) {
    RawHttp c(port, 3000);
    c.send_raw(raw);
  }
  EXPECT_EQ(RawHttp(port).request("GET", "/metrics").status, 200);
}

// Jobs the coordinator cannot judge: they fail on the worker, naming why
// without echoing what was read, and the worker takes the next job.
void HostileInputTest::jobs_that_fail_on_the_worker() {
  std::ofstream(dir_ / "shadow") << kSecret;
  const std::string init = submit_body(job_spec(
      "init-shadow",
      {{"model", {{"name", "mlp"}, {"init", {{"checkpoint", (dir_ / "shadow").string()}}}}}}));
  const std::string data =
      submit_body(job_spec("data-shadow", {{"data", {{"path", (dir_ / "shadow").string()}}}}));
  const std::string huge = submit_body(
      job_spec("huge", {{"model", {{"name", "mlp"}, {"hidden", std::vector<int>(16, 65536)}}}}));
  for (const std::string& id : {init, data, huge}) {
    wait_state(id, "FAILED", 60s);
    const std::string reason = api("/v1/jobs/" + id).value("reason", "");
    EXPECT_FALSE(reason.empty()) << id;
    for (size_t at = 0; at + 4 <= kSecret.size(); ++at)
      ASSERT_EQ(reason.find(kSecret.substr(at, 4)), std::string::npos) << reason;
  }
}

TEST_F(HostileInputTest, EveryWayInRefusesAndNothingIsLost) {
  keygen("coord");
  std::ofstream(path("workers.allow")) << keygen("w1") << "\n";
  start_coordinator({"--curve-key", path("coord.key"), "--allow-workers", path("workers.allow")});
  start_worker("w1", {"--curve-key", path("w1.key"), "--coordinator-key", path("coord.pub"),
                      "--memory", "1"});
  wait_for_alive_workers(1);
  const uint16_t metrics_port = worker_metrics_port("w1");
  const std::string earlier = submit(write_spec("earlier", 1, 100));
  wait_state(earlier, "SUCCEEDED", 60s);

  rest_bodies();
  rest_routes_and_raw_http();
  control_plane_strangers();
  allowed_key_sending_garbage();
  worker_metrics_garbage(metrics_port);
  jobs_that_fail_on_the_worker();

  // Nothing was lost: both processes run, the worker is the only one and is
  // alive, the earlier job is as it was, and a new job trains.
  EXPECT_FALSE(coordinator_->wait(0ms)) << coordinator_->output();
  EXPECT_FALSE(workers_["w1"]->wait(0ms)) << workers_["w1"]->output();
  EXPECT_EQ(RawHttp(http_port_).request("GET", "/healthz").status, 200);
  const nlohmann::json workers = api("/v1/workers");
  ASSERT_EQ(workers["workers"].size(), 1u) << workers.dump();
  EXPECT_EQ(workers["workers"][0]["id"], "w1");
  EXPECT_EQ(workers["workers"][0]["state"], "ALIVE");
  EXPECT_EQ(state(earlier), "SUCCEEDED");
  const std::string after = submit(write_spec("after", 1, 100));
  wait_state(after, "SUCCEEDED", 60s);
}

}  // namespace
}  // namespace ringmaster
