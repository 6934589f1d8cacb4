// file_rendezvous (see data_parallel.h): atomic files in a shared folder.
#include <filesystem>
#include <fstream>
#include <thread>

#include "ops/check.h"
#include "training/data_parallel.h"

namespace ringmaster::training {
namespace fs = std::filesystem;

Peers file_rendezvous(const std::string& dir, int rank, int world_size, const std::string& endpoint,
                      const std::string& nccl_id, std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel) {
  RM_THROW_IF(world_size < 1 || rank < 0 || rank >= world_size, "rendezvous: rank ", rank,
              " outside world size ", world_size);
  std::error_code ec;
  fs::create_directories(dir, ec);
  RM_THROW_IF(ec, "rendezvous: cannot create ", dir, ": ", ec.message());
  auto file_of = [&](int r) { return fs::path(dir) / ("rank-" + std::to_string(r) + ".endpoint"); };
  {
    const fs::path tmp = file_of(rank).string() + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << endpoint << "\n" << nccl_id << "\n";
    out.close();
    RM_THROW_IF(!out, "rendezvous: cannot write ", tmp.string());
    fs::rename(tmp, file_of(rank), ec);  // atomic: readers never see half a line
    RM_THROW_IF(ec, "rendezvous: cannot publish ", file_of(rank).string(), ": ", ec.message());
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Peers peers;
  peers.ring.resize(static_cast<size_t>(world_size));
  for (int r = 0; r < world_size; ++r) {
    while (true) {
      std::ifstream in(file_of(r));
      std::string line;
      if (in && std::getline(in, line) && !line.empty()) {
        peers.ring[static_cast<size_t>(r)] = line;
        if (r == 0 && std::getline(in, line)) peers.nccl_id = line;
        break;
      }
      RM_THROW_IF(cancel != nullptr && cancel->load(), "rendezvous: cancelled");
      RM_THROW_IF(std::chrono::steady_clock::now() > deadline, "rendezvous: rank ", r, " of ",
                  world_size, " did not publish its endpoint in ", dir, " within ",
                  timeout.count() / 1000.0, " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return peers;
}

}  // namespace ringmaster::training
