// Helpers for the parameter-server tests: an SGD-with-momentum update (the
// host's job in production, written out here so comm's tests need no
// models/), a tiny two-layer MLP with hand-written gradients, and a runner
// that trains it with N worker threads against real shards on 127.0.0.1.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comm/message.h"
#include "comm/ps_client.h"
#include "comm/ps_shard.h"

namespace ringmaster::comm::test {

// torch.optim.SGD with momentum (buf = g on the first step, then m*buf + g).
inline PsUpdateFactory sgd_momentum(float lr, float momentum) {
  return [=](const PsJobInfo&, PsTensors&) -> PsUpdate {
    auto bufs = std::make_shared<std::map<std::string, std::vector<float>>>();
    return [=](int64_t, PsTensors& weights, const PsTensors& grads) {
      for (auto& [key, w] : weights) {
        float* p = w.data<float>();
        const float* g = grads.at(key).data<float>();
        std::vector<float>& b = (*bufs)[key];
        const auto n = static_cast<size_t>(w.numel());
        if (b.empty()) b.assign(n, 0.0f);
        for (size_t i = 0; i < n; ++i) {
          b[i] = momentum * b[i] + g[i];
          p[i] -= lr * b[i];
        }
      }
    };
  };
}

// y = W2 relu(W1 x + b1) + b2; loss = mean over rows of 0.5 |y - t|^2.
struct Mlp {
  static constexpr int kIn = 6, kHidden = 10, kOut = 3;
  static std::vector<PsKey> keys() {
    return {{"fc1.weight", kHidden * kIn},
            {"fc1.bias", kHidden},
            {"fc2.weight", kOut * kHidden},
            {"fc2.bias", kOut}};
  }
  static PsTensors init(uint64_t seed) {
    std::mt19937_64 rng(seed);
    PsTensors w;
    for (const PsKey& k : keys()) w[k.name] = ops::Tensor::randn({k.numel}, rng, 0.3f);
    return w;
  }
};

// One step's global batch: rows of x (kIn) and targets (kOut).
struct Batch {
  std::vector<float> x, t;
  int rows = 0;
};

inline std::vector<Batch> make_batches(int steps, int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<Batch> out(static_cast<size_t>(steps));
  for (Batch& b : out) {
    b.rows = rows;
    for (int i = 0; i < rows * Mlp::kIn; ++i) b.x.push_back(n(rng));
    for (int i = 0; i < rows * Mlp::kOut; ++i) b.t.push_back(n(rng));
  }
  return out;
}

// Mean gradient over rows [lo, hi) of the batch.
inline PsTensors mlp_grad(const PsTensors& w, const Batch& b, int lo, int hi) {
  const float* w1 = w.at("fc1.weight").data<float>();
  const float* b1 = w.at("fc1.bias").data<float>();
  const float* w2 = w.at("fc2.weight").data<float>();
  const float* b2 = w.at("fc2.bias").data<float>();
  PsTensors g;
  for (const PsKey& k : Mlp::keys()) g[k.name] = ops::Tensor::zeros({k.numel});
  float* gw1 = g["fc1.weight"].data<float>();
  float* gb1 = g["fc1.bias"].data<float>();
  float* gw2 = g["fc2.weight"].data<float>();
  float* gb2 = g["fc2.bias"].data<float>();
  const float inv = 1.0f / static_cast<float>(hi - lo);
  for (int r = lo; r < hi; ++r) {
    const float* x = &b.x[static_cast<size_t>(r * Mlp::kIn)];
    const float* t = &b.t[static_cast<size_t>(r * Mlp::kOut)];
    float h[Mlp::kHidden], dy[Mlp::kOut], dh[Mlp::kHidden] = {};
    for (int j = 0; j < Mlp::kHidden; ++j) {
      float s = b1[j];
      for (int i = 0; i < Mlp::kIn; ++i) s += w1[j * Mlp::kIn + i] * x[i];
      h[j] = std::max(s, 0.0f);
    }
    for (int o = 0; o < Mlp::kOut; ++o) {
      float s = b2[o];
      for (int j = 0; j < Mlp::kHidden; ++j) s += w2[o * Mlp::kHidden + j] * h[j];
      dy[o] = (s - t[o]) * inv;
    }
    for (int o = 0; o < Mlp::kOut; ++o) {
      gb2[o] += dy[o];
      for (int j = 0; j < Mlp::kHidden; ++j) {
        gw2[o * Mlp::kHidden + j] += dy[o] * h[j];
        dh[j] += dy[o] * w2[o * Mlp::kHidden + j];
      }
    }
    for (int j = 0; j < Mlp::kHidden; ++j) {
      if (h[j] <= 0.0f) continue;
      gb1[j] += dh[j];
      for (int i = 0; i < Mlp::kIn; ++i) gw1[j * Mlp::kIn + i] += dh[j] * x[i];
    }
  }
  return g;
}

// Largest |a - b| over a tensor, relative to the largest |b| (0 when equal).
inline double max_rel_diff(const PsTensors& a, const PsTensors& b) {
  double worst = 0.0;
  for (const auto& [k, tb] : b) {
    const std::vector<float> va = a.at(k).to_vector(), vb = tb.to_vector();
    double d = 0.0, m = 1e-12;
    for (size_t i = 0; i < vb.size(); ++i) {
      d = std::max(d, std::fabs(static_cast<double>(va[i]) - vb[i]));
      m = std::max(m, std::fabs(static_cast<double>(vb[i])));
    }
    worst = std::max(worst, d / m);
  }
  return worst;
}

// Shards on ephemeral loopback ports.
struct Shards {
  Shards(Context& ctx, int n, PsUpdateFactory factory, PsShardOptions base = {}) {
    for (int i = 0; i < n; ++i) {
      PsShardOptions o = base;
      o.shard_index = i;
      o.shards = n;
      list.push_back(std::make_unique<ParameterServerShard>(ctx, factory, o));
      list.back()->start();
      endpoints.push_back(list.back()->endpoint());
    }
  }
  std::vector<std::unique_ptr<ParameterServerShard>> list;
  std::vector<std::string> endpoints;
};

// Sends raw frames from a DEALER and returns the reply's error code ("" for
// none, "<no reply>" when none came within 2 s).
inline std::string error_code_for(Socket& s, const std::vector<std::string>& frames) {
  EXPECT_TRUE(s.send(Envelope{"", frames}));
  auto env = s.receive(std::chrono::seconds(2));
  if (!env) return "<no reply>";
  Message m = decode(env->frames);
  return m.type == "error" ? m.header.at("code").get<std::string>() : "";
}

// Runs fn(rank) on `world` threads; rethrows the first exception.
template <class F>
void run_ranks(int world, F fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace ringmaster::comm::test
