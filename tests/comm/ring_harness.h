// Test harness for ring collectives: W ZmqRingTransports in one process, one
// Context each (as separate processes would have), listening on 127.0.0.1;
// run_ranks() runs one function per rank on its own thread and rethrows the
// first failure. Inputs are deterministic per (seed, rank).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comm/zmq_ring_transport.h"

namespace ringmaster::comm::testing {

using std::chrono::milliseconds;

struct ThreadRing {
  std::vector<std::unique_ptr<Context>> contexts;  // destroyed after the transports
  std::vector<std::unique_ptr<ZmqRingTransport>> transports;
  std::vector<std::string> endpoints;

  explicit ThreadRing(int world, ZmqRingOptions options = {}) {
    for (int r = 0; r < world; ++r) {
      contexts.push_back(std::make_unique<Context>());
      transports.push_back(std::make_unique<ZmqRingTransport>(options));
      endpoints.push_back(transports.back()->listen(*contexts.back(), "127.0.0.1"));
    }
  }
  ~ThreadRing() { transports.clear(); }
  int world() const { return static_cast<int>(transports.size()); }
};

// Runs fn(rank) on one thread per rank; returns each rank's exception (null: none).
inline std::vector<std::exception_ptr> run_ranks_collect(int world,
                                                         const std::function<void(int)>& fn) {
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

inline void run_ranks(int world, const std::function<void(int)>& fn) {
  for (auto& e : run_ranks_collect(world, fn))
    if (e) std::rethrow_exception(e);
}

// Uniform in [-1, 1), deterministic per (seed, rank).
inline std::vector<float> rank_input(uint64_t seed, int rank, size_t n, float magnitude = 1.0f) {
  std::mt19937_64 gen(seed * 1000003 + static_cast<uint64_t>(rank));
  std::uniform_real_distribution<float> dist(-magnitude, magnitude);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(gen);
  return x;
}

inline std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
  return "?";
}

}  // namespace ringmaster::comm::testing
