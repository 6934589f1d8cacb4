// The REST API over real HTTP on 127.0.0.1 (ephemeral port): submit, get,
// list, logs, cancel, delete, workers, healthz; problem+json 400s naming each
// bad field by JSON pointer (malformed JSON, wrong types, unknown fields,
// negative and absurd sizes, unknown model, a checkpoint outside the allowed
// root or inside the state folder), 413 for an oversize body, Idempotency-Key,
// bearer tokens, and the coordinator staying up through all of it.
#include <gtest/gtest.h>

#include <fstream>

#include "comm/curve.h"
#include "coordinator_fixture.h"

namespace ringmaster::coordinator {
namespace {

using testing_support::RawHttp;
using testing_support::RawResponse;

class RestApiTest : public testing_support::CoordinatorFixture {
 protected:
  void SetUp() override {
    CoordinatorFixture::SetUp();
    start();
  }
  bool healthy() { return get("/healthz").status == 200; }
};

TEST_F(RestApiTest, SubmitGives201WithLocationAndTheJob) {
  const RawResponse r =
      post("/v1/jobs", spec("first").dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("location"), "/v1/jobs/job-1");
  const nlohmann::json j = r.json();
  EXPECT_EQ(j["id"], "job-1");
  EXPECT_EQ(j["state"], "PENDING");
  EXPECT_EQ(j["resources"]["workers"], 1);
  // The checkpoint was made absolute, under the root.
  EXPECT_EQ(
      j["spec"]["checkpoint"]["path"],
      (std::filesystem::weakly_canonical(dir_ / "runs") / "first" / "final.safetensors").string());
  // With no workers it is unschedulable, and says why.
  const nlohmann::json later =
      wait_job("job-1", [](const nlohmann::json& x) { return x.contains("unschedulable"); });
  EXPECT_EQ(later["unschedulable"], "no live workers");
  EXPECT_FALSE(later["submitted_at"].get<std::string>().empty());
}

TEST_F(RestApiTest, BadSpecsGetProblemJsonNamingEachField) {
  struct Case {
    std::string body;
    std::string pointer;
    std::string reason;
  };
  const std::string state = (dir_ / "runs" / "cluster" / "x.safetensors").string();
  const std::vector<Case> cases = {
      {R"({"train": )", "", "not valid JSON"},
      {R"(["not", "an", "object"])", "", "must be an object"},
      {R"({"train": {"epochs": "ten"}})", "/train/epochs", "must be an integer"},
      {R"({"optimizer": {"lr": "fast"}})", "/optimizer/lr", "must be a number"},
      {R"({"colour": "blue"})", "/colour", "unknown field"},
      {R"({"train": {"batch_size": -5}})", "/train/batch_size", "must be >= 1"},
      {R"({"train": {"batch_size": 100000000000}})", "/train/batch_size", "must be <="},
      {R"({"resources": {"cores": 1000000}})", "/resources/cores", "must be <= 1024"},
      {R"({"resources": {"gpus": -1}})", "/resources/gpus", "must be >= 0"},
      {R"({"resources": {"workers": 0}})", "/resources/workers", "must be >= 1"},
      {R"({"sync": {"mode": "gossip"}})", "/sync/mode", "must be one of"},
      {R"({"model": {"name": "resnet9000"}})", "/model/name", "must be one of"},
      {R"({"checkpoint": {"path": "/etc/ringmaster.safetensors"}})", "/checkpoint/path",
       "must be under the checkpoint root"},
      {R"({"checkpoint": {"path": "../../escape.safetensors"}})", "/checkpoint/path",
       "must be under the checkpoint root"},
      {nlohmann::json({{"checkpoint", {{"path", state}}}}).dump(), "/checkpoint/path",
       "must not be inside the coordinator's state folder"},
      {R"({"name": "../../../tmp/evil"})", "/name", "must not contain '/'"},
      // Hostile bodies: deep, duplicate keys, bytes after the value, huge numbers.
      {std::string(200000, '[') + std::string(200000, ']'), "", "nested deeper than 64 levels"},
      {R"({"train": {"epochs": 2, "epochs": 3}})", "", "duplicate key \"epochs\""},
      {R"({"name": "a"} {"name": "b"})", "", "not valid JSON"},
      {std::string(R"({"name": "a"})") + '\0', "", "not valid JSON"},
      {R"({"train": {"epochs": 1e400}})", "/train/epochs", "a number too large for a double"},
      {R"({"train": {"epochs": 123456789012345678901234567890}})", "/train/epochs", "must be"},
      {R"({"optimizer": {"lr": -1e400}})", "/optimizer/lr", "a number too large for a double"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    const RawResponse r = post("/v1/jobs", c.body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    const nlohmann::json j = r.json();
    ASSERT_TRUE(j.contains("invalid_params")) << r.body;
    bool found = false;
    for (const auto& p : j["invalid_params"])
      found = found || (p["name"] == c.pointer &&
                        p["reason"].get<std::string>().find(c.reason) != std::string::npos);
    EXPECT_TRUE(found) << r.body;
    EXPECT_EQ(j["status"], 400);
  }
  // Every problem at once.
  const RawResponse many = post("/v1/jobs", R"({"train": {"batch_size": 0, "epochs": -1}, "x": 1,
                           "checkpoint": {"path": "/elsewhere/c.safetensors"}})");
  EXPECT_EQ(many.json()["invalid_params"].size(), 4u) << many.body;
  EXPECT_TRUE(healthy());
  EXPECT_EQ(get("/v1/jobs").json()["jobs"].size(), 0u);
}

TEST_F(RestApiTest, PathsOutsideTheRootsAreRefusedAtSubmission) {
  // The issue's case: the worker read /etc/shadow and its failure echoed it.
  const RawResponse shadow = post("/v1/jobs", R"({"model": {"name": "mlp", "init":
                                  {"checkpoint": "/etc/shadow"}}})");
  ASSERT_EQ(shadow.status, 400) << shadow.body;
  const nlohmann::json p = shadow.json()["invalid_params"][0];
  EXPECT_EQ(p["name"], "/model/init/checkpoint");
  EXPECT_NE(p["reason"].get<std::string>().find("outside the checkpoint and data roots"),
            std::string::npos)
      << shadow.body;
  EXPECT_EQ(shadow.body.find("root:"), std::string::npos);
  // data.path through a symlink in an allowed folder.
  std::filesystem::create_symlink("/etc/passwd", dir_ / "digits.csv.gz");
  nlohmann::json linked = spec("linked");
  linked["data"]["path"] = (dir_ / "digits.csv.gz").string();
  const RawResponse link = post("/v1/jobs", linked.dump());
  ASSERT_EQ(link.status, 400) << link.body;
  EXPECT_EQ(link.json()["invalid_params"][0]["name"], "/data/path");
  EXPECT_NE(link.body.find("through a symlink"), std::string::npos) << link.body;
  // Ensemble members' weights, and every problem at once.
  const RawResponse members = post("/v1/jobs", R"({"data": {"dataset": "digits",
      "path": "/proc/self/environ"}, "model": {"ensemble": [
      {"name": "mlp", "checkpoint": "/root/.ssh/id_rsa"},
      {"name": "mlp", "checkpoint": "../../../../../etc/hosts"}]}})");
  ASSERT_EQ(members.status, 400) << members.body;
  EXPECT_EQ(members.json()["invalid_params"].size(), 3u) << members.body;
  // Inside the roots: accepted.
  nlohmann::json fine = spec("fine");
  fine["model"] = {
      {"name", "mlp"},
      {"init", {{"checkpoint", (dir_ / "runs" / "old" / "final.safetensors").string()}}}};
  EXPECT_EQ(post("/v1/jobs", fine.dump()).status, 201);
  EXPECT_TRUE(healthy());
}

TEST_F(RestApiTest, AFullJobStoreGets503WithRetryAfter) {
  options_.max_jobs = 2;
  restart();
  EXPECT_EQ(post("/v1/jobs", spec("one").dump()).status, 201);
  EXPECT_EQ(post("/v1/jobs", spec("two").dump()).status, 201);
  const RawResponse full = post("/v1/jobs", spec("three").dump());
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.header("retry-after"), "60");
  EXPECT_NE(full.json()["detail"].get<std::string>().find("maximum of 2 jobs"), std::string::npos)
      << full.body;
  EXPECT_NE(get("/metrics").body.find("reason=\"store_full\"} 1"), std::string::npos);
  // Deleting a finished job makes room.
  post("/v1/jobs/job-1/cancel", "");
  RawHttp c(port());
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/job-1").status, 204);
  EXPECT_EQ(post("/v1/jobs", spec("three").dump()).status, 201);
  EXPECT_TRUE(healthy());
}

TEST_F(RestApiTest, OversizeBodyGets413AndTheServerCarriesOn) {
  RawHttp c(port());
  const std::string big(1024 * 1024 + 1, ' ');
  const RawResponse r = c.request("POST", "/v1/jobs", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_TRUE(healthy());
  // Exactly 1 MiB is allowed (and then fails as a spec, not as a size).
  std::string limit = spec("edge").dump();
  limit += std::string(1024 * 1024 - limit.size(), ' ');
  EXPECT_EQ(post("/v1/jobs", limit).status, 201);
}

TEST_F(RestApiTest, MalformedHttpGets400AndTheServerCarriesOn) {
  RawHttp c(port());
  ASSERT_TRUE(c.send_raw("HELLO THERE\r\n\r\n"));
  EXPECT_EQ(c.read_response().status, 400);
  EXPECT_TRUE(healthy());
}

TEST_F(RestApiTest, IdempotencyKeyMakesARetryReturnTheSameJob) {
  const std::string body = spec("idem").dump();
  const RawResponse a = post("/v1/jobs", body, {{"Idempotency-Key", "abc-123"}});
  const RawResponse b = post("/v1/jobs", body, {{"Idempotency-Key", "abc-123"}});
  ASSERT_EQ(a.status, 201);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.header("idempotent-replayed"), "true");
  EXPECT_EQ(a.json()["id"], b.json()["id"]);
  const RawResponse conflict =
      post("/v1/jobs", spec("other").dump(), {{"Idempotency-Key", "abc-123"}});
  EXPECT_EQ(conflict.status, 422);
  EXPECT_EQ(post("/v1/jobs", body, {{"Idempotency-Key", "xyz"}}).json()["id"], "job-2");
  EXPECT_EQ(get("/v1/jobs").json()["jobs"].size(), 2u);
}

TEST_F(RestApiTest, ListsByStateAndRejectsAnUnknownState) {
  post("/v1/jobs", spec("a").dump());
  post("/v1/jobs", spec("b").dump());
  post("/v1/jobs/job-2/cancel", "");
  const auto pending = get("/v1/jobs?state=pending").json()["jobs"];
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["id"], "job-1");
  EXPECT_EQ(get("/v1/jobs?state=CANCELLED").json()["jobs"][0]["id"], "job-2");
  const RawResponse bad = get("/v1/jobs?state=sleeping");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["invalid_params"][0]["name"], "state");
}

TEST_F(RestApiTest, CancelIsIdempotentAndOnlyFinishedJobsCanBeDeleted) {
  post("/v1/jobs", spec("c").dump());
  post("/v1/jobs", spec("d").dump());
  RawHttp c(port());
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/job-1").status, 409);
  const RawResponse first = c.request("POST", "/v1/jobs/job-1/cancel", "");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.json()["state"], "CANCELLED");
  EXPECT_EQ(c.request("POST", "/v1/jobs/job-1/cancel", "").json()["state"], "CANCELLED");
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/job-1").status, 204);
  EXPECT_EQ(c.request("GET", "/v1/jobs/job-1").status, 404);
  EXPECT_EQ(c.request("POST", "/v1/jobs/job-9/cancel", "").status, 404);
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/job-9").status, 404);
  EXPECT_EQ(c.request("GET", "/v1/jobs/job-2").json()["state"], "PENDING");
}

TEST_F(RestApiTest, LogsOfAJobAndFollowingAFinishedOne) {
  post("/v1/jobs", spec("l").dump());
  const RawResponse logs = get("/v1/jobs/job-1/logs");
  EXPECT_EQ(logs.status, 200);
  EXPECT_EQ(logs.header("x-next-line"), "0");
  EXPECT_EQ(logs.header("x-job-finished"), "false");
  EXPECT_EQ(get("/v1/jobs/job-1/logs?since=-3").status, 400);
  EXPECT_EQ(get("/v1/jobs/job-1/logs?follow=maybe").status, 400);
  EXPECT_EQ(get("/v1/jobs/job-7/logs").status, 404);
  post("/v1/jobs/job-1/cancel", "");
  const RawResponse follow = get("/v1/jobs/job-1/logs?follow=1");
  EXPECT_EQ(follow.status, 200);
  EXPECT_EQ(follow.header("transfer-encoding"), "chunked");
  EXPECT_EQ(follow.body, "");
}

TEST_F(RestApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  RawHttp c(port());
  for (int i = 0; i < 20; ++i) {
    const RawResponse r =
        c.request("POST", "/v1/jobs", spec(std::string("k").append(std::to_string(i))).dump());
    ASSERT_EQ(r.status, 201);
  }
  EXPECT_EQ(c.request("GET", "/v1/jobs").json()["jobs"].size(), 20u);
  EXPECT_EQ(c.request("GET", "/v1/workers").json()["workers"].size(), 0u);
}

TEST_F(RestApiTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(get("/v2/jobs").status, 404);
  RawHttp c(port());
  const RawResponse r = c.request("PUT", "/v1/jobs");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, POST");
  EXPECT_EQ(c.request("GET", "/v1/jobs/job-1/cancel").status, 405);
  EXPECT_EQ(post("/v1/jobs", spec("t").dump(), {{"Content-Type", "text/plain"}}).status, 415);
}

TEST_F(RestApiTest, JobsSurviveARestart) {
  for (const char* n : {"r1", "r2", "r3"}) post("/v1/jobs", spec(n).dump());
  post("/v1/jobs/job-2/cancel", "");
  restart();
  const auto jobs = get("/v1/jobs").json()["jobs"];
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["state"], "PENDING");
  EXPECT_EQ(jobs[1]["state"], "CANCELLED");
  EXPECT_EQ(jobs[2]["name"], "r3");
  EXPECT_EQ(post("/v1/jobs", spec("r4").dump()).json()["id"], "job-4");
}

class RestAuthTest : public testing_support::CoordinatorFixture {};

TEST_F(RestAuthTest, TokenIsRequiredEverywhereButHealthz) {
  options_.token = "s3cret";
  start();
  const RawResponse none = get("/v1/jobs");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"ringmaster\"");
  const RawResponse wrong = get("/v1/jobs", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.header("www-authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(post("/v1/jobs", spec("a").dump()).status, 401);
  EXPECT_EQ(get("/v1/jobs", {{"Authorization", "Bearer s3cret"}}).status, 200);
  EXPECT_EQ(get("/metrics", {{"Authorization", "Basic czNjcmV0"}}).status, 401);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(RestAuthTest, NonLoopbackWithoutATokenOrCurveIsRefused) {
  options_.http_address = "0.0.0.0";
  EXPECT_THROW(Coordinator c(options_), ConfigError);
  options_.http_address = "127.0.0.1";
  // The control plane: a token is not enough, it needs CURVE.
  options_.zmq_endpoint = "tcp://0.0.0.0:*";
  options_.token = "t";
  try {
    Coordinator c(options_);
    ADD_FAILURE() << "a plain control plane on 0.0.0.0 was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("without CURVE"), std::string::npos) << e.what();
  }
  comm::write_curve_keypair((dir_ / "coord").string(), comm::make_curve_keypair());
  options_.curve_key_file = (dir_ / "coord.key").string();
  EXPECT_THROW(Coordinator c(options_), ConfigError);  // no allowlist
  std::ofstream(dir_ / "allow") << comm::make_curve_keypair().public_key << "\n";
  options_.worker_allowlist = (dir_ / "allow").string();
  EXPECT_NO_THROW(Coordinator c(options_));
  // A damaged key file is a ConfigError naming it.
  std::ofstream(dir_ / "bad.key") << "secret short\n";
  options_.curve_key_file = (dir_ / "bad.key").string();
  EXPECT_THROW(Coordinator c(options_), ConfigError);
}

}  // namespace
}  // namespace ringmaster::coordinator
