// Parameter-server throughput, run by hand: W worker threads push a
// DeepConvNet-sized gradient set and pull the weights back through S shards
// hosted by coordinator::PsHost on 127.0.0.1 (SGD with momentum on the
// shards), BSP, compression none vs fp16, each over the wire (ZeroMQ TCP)
// and through the shards' shared-memory segments, alternating, medians of
// --rounds. Reports steps/s and the gradient bytes pushed per step. Workers and shards share this
// machine's cores: the figures are loopback and CPU bound, not network bound.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <thread>

#include "comm/ps_client.h"
#include "comm/transport.h"
#include "coordinator/ps_host.h"
#include "models/model_builder.h"
#include "training/job_spec.h"
#include "training/ps_update.h"

using namespace ringmaster;

// CPU time of the whole process (workers, shards, ZeroMQ's I/O thread): on a
// shared machine this moves less with the load than the wall clock does.
static double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One run's figures, rank 0's view.
struct Timing {
  double seconds = 0.0, cpu_seconds = 0.0;
  int64_t push_bytes = 0;
  int shm_shards = 0;
};

// The run of median wall time.
static Timing median(std::vector<Timing> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Timing& a, const Timing& b) { return a.seconds < b.seconds; });
  return runs[runs.size() / 2];
}

int main(int argc, char** argv) {
  CLI::App app{"parameter-server push+pull throughput"};
  int steps = 30, rounds = 3;
  std::vector<int> workers = {2, 4}, shards = {1, 2};
  app.add_option("--steps", steps, "timed steps per configuration")->capture_default_str();
  app.add_option("--workers", workers, "world sizes")->capture_default_str();
  app.add_option("--shards", shards, "shard counts")->capture_default_str();
  app.add_option("--rounds", rounds, "alternating wire / shared-memory runs per configuration")
      ->capture_default_str()
      ->check(CLI::Range(1, 99));
  std::string model_json = R"({"name": "deep_convnet"})";
  int image_size = 28, channels = 1;
  app.add_option("--model", model_json, "the job spec's model object")->capture_default_str();
  app.add_option("--image-size", image_size, "input size the model is built for")
      ->capture_default_str();
  app.add_option("--channels", channels, "input channels")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mt19937_64 rng(1);
  const training::JobSpec spec =
      training::parse_job_spec({{"model", nlohmann::json::parse(model_json)}});
  models::ModelConfig cfg;
  cfg.image_size = image_size;
  cfg.in_channels = channels;
  auto model = models::build_model_from_spec(spec.model, cfg, rng);
  std::vector<comm::PsKey> keys;
  comm::PsTensors init;
  int64_t total = 0;
  for (const auto& [name, t] : model->named_parameters()) {
    keys.push_back({name, t.numel()});
    init[name] = t.detach().clone();
    total += t.numel();
  }
  std::printf("model: %s, %zu tensors, %lld parameters (%.2f MB f32)\n", spec.model.name.c_str(),
              keys.size(), static_cast<long long>(total), total * 4.0 / 1e6);
  std::printf("%-8s %-7s %-6s %-5s %10s %12s %14s %14s %9s\n", "workers", "shards", "comp", "path",
              "steps/s", "ms/step", "cpu ms/step", "push MB/step", "shm/wire");

  coordinator::PsHostOptions host_options;
  host_options.make_update = training::make_ps_update_from_json;
  coordinator::PsHost host(host_options);
  comm::Context ctx;
  int job_no = 0;
  // One configuration, one path: timed steps, rank 0's view.
  auto run = [&](int W, int S, comm::Compression comp, bool shm) {
    const std::string job = "bench-" + std::to_string(++job_no);
    const nlohmann::json sgd = {{"optimizer", {{"name", "sgd"}, {"lr", 1e-3}, {"momentum", 0.9}}},
                                {"steps_per_epoch", 1000}};
    coordinator::PsJobOptions o{job, W, S, sgd};
    const auto endpoints = host.start_job(o);
    Timing t;
    std::vector<std::thread> threads;
    for (int r = 0; r < W; ++r) {
      threads.emplace_back([&, r] {
        comm::PsClientOptions c;
        c.job_id = job;
        c.rank = r;
        c.world = W;
        c.compression = comp;
        c.timeout = std::chrono::seconds(60);
        c.shared_memory = shm;
        comm::ParameterServerClient client(ctx, endpoints, keys, c);
        comm::PsTensors w = init;
        for (auto& [k, v] : w) v = v.clone();
        client.init(r == 0 ? &w : nullptr);
        client.pull(0, w);
        std::mt19937_64 g_rng(static_cast<uint64_t>(r + 7));
        comm::PsTensors grads;
        for (const auto& k : keys) grads[k.name] = ops::Tensor::randn({k.numel}, g_rng, 1e-3f);
        client.push(0, grads);  // warm-up step
        client.pull(1, w);
        const auto t0 = std::chrono::steady_clock::now();
        const double cpu0 = process_cpu_seconds();
        for (int s = 1; s <= steps; ++s) {
          client.push(s, grads);
          client.pull(s + 1, w);
        }
        if (r == 0) {
          t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          t.cpu_seconds = process_cpu_seconds() - cpu0;
          t.push_bytes = client.last_push_bytes();
          t.shm_shards = client.shared_memory_shards();
        }
        client.finish();
      });
    }
    for (auto& th : threads) th.join();
    host.stop_job(job);
    return t;
  };
  for (int S : shards) {
    for (int W : workers) {
      for (auto comp : {comm::Compression::kNone, comm::Compression::kFp16}) {
        // Alternating rounds, wire then shared memory; medians of each.
        std::vector<Timing> wire, shm;
        for (int i = 0; i < rounds; ++i) {
          wire.push_back(run(W, S, comp, false));
          shm.push_back(run(W, S, comp, true));
        }
        const Timing mw = median(wire), ms = median(shm);
        if (ms.shm_shards != S)
          std::printf("note: %d of %d shards offered shared memory\n", ms.shm_shards, S);
        char ratio[16];
        std::snprintf(ratio, sizeof ratio, "%.2fx", mw.seconds / ms.seconds);
        for (const Timing* m : {&mw, &ms})
          std::printf("%-8d %-7d %-6s %-5s %10.2f %12.2f %14.2f %14.2f %9s\n", W, S,
                      comm::to_string(comp), m == &mw ? "wire" : "shm", steps / m->seconds,
                      1000.0 * m->seconds / steps, 1000.0 * m->cpu_seconds / steps,
                      m->push_bytes / 1e6, m == &ms ? ratio : "");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
