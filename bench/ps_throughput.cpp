// Parameter-server throughput, run by hand: W worker threads push a
// DeepConvNet-sized gradient set and pull the weights back through S shards
// hosted by coordinator::PsHost on 127.0.0.1 (SGD with momentum on the
// shards), BSP, compression none vs fp16. Reports steps/s and the gradient
// bytes pushed per step. Workers and shards share this machine's cores: the
// figures are loopback and CPU bound, not network bound.
#include <CLI/CLI.hpp>

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

int main(int argc, char** argv) {
  CLI::App app{"parameter-server push+pull throughput"};
  int steps = 30;
  std::vector<int> workers = {2, 4}, shards = {1, 2};
  app.add_option("--steps", steps, "timed steps per configuration")->capture_default_str();
  app.add_option("--workers", workers, "world sizes")->capture_default_str();
  app.add_option("--shards", shards, "shard counts")->capture_default_str();
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
  std::printf("%-8s %-7s %-6s %10s %12s %14s %14s\n", "workers", "shards", "comp", "steps/s",
              "ms/step", "cpu ms/step", "push MB/step");

  coordinator::PsHostOptions host_options;
  host_options.make_update = training::make_ps_update_from_json;
  coordinator::PsHost host(host_options);
  comm::Context ctx;
  int job_no = 0;
  for (int S : shards) {
    for (int W : workers) {
      for (auto comp : {comm::Compression::kNone, comm::Compression::kFp16}) {
        const std::string job = "bench-" + std::to_string(++job_no);
        const nlohmann::json sgd = {
            {"optimizer", {{"name", "sgd"}, {"lr", 1e-3}, {"momentum", 0.9}}},
            {"steps_per_epoch", 1000}};
        coordinator::PsJobOptions o{job, W, S, sgd};
        const auto endpoints = host.start_job(o);
        double seconds = 0.0, cpu_seconds = 0.0;
        int64_t push_bytes = 0;
        std::vector<std::thread> threads;
        for (int r = 0; r < W; ++r) {
          threads.emplace_back([&, r] {
            comm::PsClientOptions c;
            c.job_id = job;
            c.rank = r;
            c.world = W;
            c.compression = comp;
            c.timeout = std::chrono::seconds(60);
            comm::ParameterServerClient client(ctx, endpoints, keys, c);
            comm::PsTensors w = init;
            for (auto& [k, t] : w) t = t.clone();
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
              seconds =
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              cpu_seconds = process_cpu_seconds() - cpu0;
              push_bytes = client.last_push_bytes();
            }
            client.finish();
          });
        }
        for (auto& t : threads) t.join();
        host.stop_job(job);
        std::printf("%-8d %-7d %-6s %10.2f %12.2f %14.2f %14.2f\n", W, S, comm::to_string(comp),
                    steps / seconds, 1000.0 * seconds / steps, 1000.0 * cpu_seconds / steps,
                    push_bytes / 1e6);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
