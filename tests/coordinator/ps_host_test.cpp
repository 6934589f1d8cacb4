// PsHost: shards per job on ephemeral loopback ports, the job's own optimizer
// and LR schedule (training::make_ps_update_from_json, handed to the host) stepping on
// the shards, and refusals of other jobs, of a wrong world, and of a host
// with no optimizer.
#include "coordinator/ps_host.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "comm/curve.h"
#include "comm/ps_client.h"
#include "comm/transport.h"
#include "tests/comm/ps_test_util.h"
#include "training/lr_schedule.h"
#include "training/optimizer.h"
#include "training/ps_update.h"

namespace ringmaster::coordinator {
namespace {

using namespace std::chrono_literals;
using comm::test::Mlp;

// A host that steps shards with training's optimizers, as the binary's does.
PsHostOptions with_optimizer() {
  PsHostOptions o;
  o.make_update = training::make_ps_update_from_json;
  return o;
}

training::JobSpec spec_with(const nlohmann::json& optimizer, const nlohmann::json& schedule) {
  return training::parse_job_spec({{"optimizer", optimizer}, {"lr_schedule", schedule}});
}

// The trainer's loop without a parameter server: full global batch, the
// spec's optimizer from models/, lr set from the schedule before every step.
comm::PsTensors train_locally(const training::JobSpec& spec, int64_t spe, int steps) {
  comm::PsTensors w = Mlp::init(3);
  models::NamedTensors params;
  for (auto& [k, t] : w) {
    t.set_requires_grad(true);
    params.emplace_back(k, t);
  }
  const training::OptimizerSpec& o = spec.optimizer;
  nlohmann::json opt = {
      {"type", training::to_string(o.name)}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
  if (o.name == training::OptimizerKind::kSgd) {
    opt["momentum"] = o.momentum;
    opt["nesterov"] = o.nesterov;
  } else {
    opt["betas"] = {o.beta1, o.beta2};
    opt["eps"] = o.eps;
  }
  auto optimizer = training::make_optimizer(opt, params);
  const auto schedule = training::LrSchedule::from_json(
      spec.lr_schedule.empty() ? nlohmann::json{{"type", "constant"}} : spec.lr_schedule,
      spec.optimizer.lr);
  const auto batches = comm::test::make_batches(steps, 24, 11);
  for (int s = 0; s < steps; ++s) {
    comm::PsTensors g = comm::test::mlp_grad(w, batches[static_cast<size_t>(s)], 0, 24);
    for (auto& [k, t] : w) t.set_grad(g.at(k));
    optimizer->set_lr(schedule.lr_at(s / spe, s % spe, spe));
    optimizer->step();
  }
  return w;
}

// `world` worker threads train the MLP through the host's shards for `job`.
comm::PsTensors train_on_host(PsHost& host, const std::string& job, const training::JobSpec& spec,
                              int64_t spe, int world, int shards, int steps) {
  PsJobOptions o;
  o.job_id = job;
  o.world = world;
  o.shards = shards;
  o.update = training::PsUpdateConfig::from_spec(spec, spe).to_json();
  const std::vector<std::string> endpoints = host.start_job(o);
  const auto batches = comm::test::make_batches(steps, 24, 11);
  comm::Context ctx;
  comm::PsTensors result;
  comm::test::run_ranks(world, [&](int rank) {
    comm::PsClientOptions c;
    c.job_id = job;
    c.rank = rank;
    c.world = world;
    c.slice_elems = 16;
    c.timeout = 10s;
    comm::ParameterServerClient client(ctx, endpoints, Mlp::keys(), c);
    comm::PsTensors w = Mlp::init(3);
    client.init(rank == 0 ? &w : nullptr);
    client.pull(0, w);
    const int rows = 24 / world;
    for (int s = 0; s < steps; ++s) {
      const auto& b = batches[static_cast<size_t>(s)];
      client.push(s, comm::test::mlp_grad(w, b, rank * rows, (rank + 1) * rows));
      client.pull(s + 1, w);
    }
    client.finish();
    if (rank == 0) result = w;
  });
  EXPECT_EQ(host.stats(job).updates, static_cast<uint64_t>(steps * shards));
  EXPECT_TRUE(host.stop_job(job));
  return result;
}

TEST(PsHost, BspOnTheHostMatchesTheJobsOptimizerAndScheduleRunLocally) {
  const int64_t spe = 10;  // the step schedule halves the lr at steps 10, 20, 30, 40
  const std::vector<training::JobSpec> specs = {
      spec_with({{"name", "sgd"},
                 {"lr", 0.05},
                 {"momentum", 0.9},
                 {"nesterov", true},
                 {"weight_decay", 1e-3}},
                {{"type", "step"}, {"step_size", 1}, {"gamma", 0.5}}),
      spec_with({{"name", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.01}},
                {{"type", "cosine"}, {"t_max", 5}, {"warmup_epochs", 1}})};
  PsHost host(with_optimizer());
  int n = 0;
  for (const training::JobSpec& spec : specs) {
    const comm::PsTensors local = train_locally(spec, spe, 50);
    ASSERT_GT(comm::test::max_rel_diff(Mlp::init(3), local), 1e-2) << "it must train";
    for (int world : {1, 2, 4}) {
      const comm::PsTensors w =
          train_on_host(host, "job-" + std::to_string(++n), spec, spe, world, 2, 50);
      const double d = comm::test::max_rel_diff(w, local);
      std::printf("[ measured ] %s, %d workers: max relative difference to local %.3g\n",
                  training::to_string(spec.optimizer.name), world, d);
      EXPECT_LE(d, 1e-5) << training::to_string(spec.optimizer.name) << ", " << world << " workers";
    }
  }
  EXPECT_TRUE(host.jobs().empty());
}

TEST(PsHost, StartsShardsOnEphemeralPortsOfTheBindHostAndStopsThem) {
  PsHost host(with_optimizer());
  PsJobOptions o;
  o.job_id = "job-1";
  o.world = 2;
  o.shards = 3;
  const auto endpoints = host.start_job(o);
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(std::set<std::string>(endpoints.begin(), endpoints.end()).size(), 3u);
  for (const auto& e : endpoints) EXPECT_EQ(e.rfind("tcp://127.0.0.1:", 0), 0u) << e;
  EXPECT_EQ(host.endpoints("job-1"), endpoints);
  EXPECT_THROW(host.start_job(o), ops::Error) << "a job gets its shards once";
  EXPECT_EQ(host.jobs(), std::vector<std::string>{"job-1"});

  comm::Context ctx;
  {
    // Another job id, and a world that is not the job's, are refused.
    comm::PsClientOptions c;
    c.job_id = "job-2";
    c.world = 2;
    c.timeout = 2s;
    comm::ParameterServerClient other(ctx, endpoints, Mlp::keys(), c);
    comm::PsTensors w = Mlp::init(1);
    try {
      other.init(&w);
      ADD_FAILURE() << "another job must be refused";
    } catch (const comm::PsError& e) {
      EXPECT_EQ(e.code(), "unknown_job") << e.what();
    }
    c.job_id = "job-1";
    c.world = 3;
    comm::ParameterServerClient wrong_world(ctx, endpoints, Mlp::keys(), c);
    try {
      wrong_world.init(&w);
      ADD_FAILURE() << "a wrong world must be refused";
    } catch (const comm::PsError& e) {
      EXPECT_EQ(e.code(), "bad_update") << e.what();
      EXPECT_NE(std::string(e.what()).find("for 2 workers, not 3"), std::string::npos);
    }
  }
  EXPECT_TRUE(host.stop_job("job-1"));
  EXPECT_FALSE(host.stop_job("job-1"));
  EXPECT_TRUE(host.endpoints("job-1").empty());
  // Nobody answers there any more.
  comm::PsClientOptions c;
  c.job_id = "job-1";
  c.world = 2;
  c.timeout = 200ms;
  c.grace = 100ms;
  comm::ParameterServerClient gone(ctx, endpoints, Mlp::keys(), c);
  comm::PsTensors w;
  try {
    gone.pull(0, w);
    ADD_FAILURE() << "a stopped shard must not answer";
  } catch (const comm::PsError& e) {
    EXPECT_EQ(e.code(), "no_reply");
  }
}

TEST(PsHost, CurveShardsAdmitOnlyTheJobsKey) {
  PsHost host(with_optimizer());
  const comm::CurveKeypair job = comm::make_curve_keypair();
  PsJobOptions o;
  o.job_id = "job-1";
  o.world = 1;
  o.shards = 2;
  o.update = training::PsUpdateConfig::from_spec(
                 spec_with({{"name", "sgd"}, {"lr", 0.1}}, {{"type", "constant"}}), 1)
                 .to_json();
  o.curve_public_key = job.public_key;
  o.curve_secret_key = job.secret_key;
  const auto endpoints = host.start_job(o);
  comm::Context ctx;
  comm::PsClientOptions c;
  c.job_id = "job-1";
  c.slice_elems = 16;
  c.timeout = 1500ms;
  c.grace = 500ms;
  // A stranger that knows the shards' public key but not the job's secret.
  {
    const comm::CurveKeypair stranger = comm::make_curve_keypair();
    comm::PsClientOptions s = c;
    s.curve_public_key = stranger.public_key;
    s.curve_secret_key = stranger.secret_key;
    s.curve_server_key = job.public_key;
    comm::ParameterServerClient client(ctx, endpoints, Mlp::keys(), s);
    comm::PsTensors w = Mlp::init(3);
    EXPECT_THROW(client.init(&w), comm::PsError);
  }
  EXPECT_EQ(host.stats("job-1").pushes, 0u);
  // The job's own key trains.
  comm::PsClientOptions mine = c;
  mine.curve_public_key = job.public_key;
  mine.curve_secret_key = job.secret_key;
  comm::ParameterServerClient client(ctx, endpoints, Mlp::keys(), mine);
  comm::PsTensors w = Mlp::init(3);
  client.init(&w);
  const auto batch = comm::test::make_batches(1, 24, 11);
  client.push(0, comm::test::mlp_grad(w, batch[0], 0, 24));
  client.pull(1, w);
  client.finish();
  EXPECT_EQ(host.stats("job-1").updates, 2u);  // one step on each shard
  EXPECT_GT(comm::test::max_rel_diff(Mlp::init(3), w), 0.0);
}

TEST(PsHost, RefusesAJobWithoutAnOptimizerToRun) {
  PsHost host;  // nobody handed it training's optimizers
  PsJobOptions o;
  o.job_id = "job-1";
  try {
    host.start_job(o);
    ADD_FAILURE() << "a host without make_update must refuse";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("make_update"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(host.jobs().empty());
}

}  // namespace
}  // namespace ringmaster::coordinator
