// Ring all-reduce bus bandwidth (nccl-tests definition: busbw = bytes / time
// * 2 (n - 1) / n) between real processes on loopback TCP. The parent forks
// one process per rank, gathers their listen() endpoints through pipes and
// prints one RESULT line per size: the slowest rank's mean time per
// all-reduce after a warm-up. With --netns, rank r first enters network
// namespace r and listens on --hosts[r] (the 1 Gbit/s veth set-up of
// bench/allreduce.py). --curve encrypts the ring as a cluster job with CURVE
// is (one job keypair, a ZAP handler per rank). Ranks on one host exchange
// chunks through shared memory unless --tcp says otherwise; RESULT ends with
// path=shm only when every rank's link to its right neighbour did. Run by hand
// (bench/allreduce.py), never by ctest.
#include <fcntl.h>
#include <poll.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <memory>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "comm/curve.h"
#include "comm/ring_allreduce.h"
#include "comm/zap_authenticator.h"
#include "comm/zmq_ring_transport.h"

using namespace ringmaster::comm;
using Clock = std::chrono::steady_clock;

namespace {

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t k = ::write(fd, s.data() + off, s.size() - off);
    if (k <= 0) return false;
    off += static_cast<size_t>(k);
  }
  return true;
}

bool read_line(int fd, std::string& line, int timeout_ms) {
  line.clear();
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char c;
    if (::read(fd, &c, 1) != 1) return false;
    if (c == '\n') return true;
    line += c;
  }
}

struct Config {
  int world = 2;
  std::vector<double> sizes_mib = {1, 16, 64};
  int warmup = 3;
  double min_seconds = 1.0;  // per size: iterate at least this long...
  int min_iters = 5;         // ...and at least this often
  size_t chunk_kib = 1024;
  Compression compression = Compression::kNone;
  int socket_buffer_kib = 0;
  std::vector<std::string> netns, hosts;
  bool tcp = false;     // no shared memory between same-host ranks
  bool zeromq = false;  // chunks through ZeroMQ, not the ring's own TCP stream
  uint32_t shm_slots = 16;
  uint64_t shm_slot_kib = 1024;
  bool curve = false;     // encrypt the ring with one job keypair, as a cluster job with CURVE
  CurveKeypair job_keys;  // made before the ranks fork
};

// One rank: listen, rendezvous, then per size: warm up, barrier, time.
int rank_main(const Config& cfg, int rank, int out_fd, int in_fd) {
  if (!cfg.netns.empty()) {
    const std::string path = "/var/run/netns/" + cfg.netns[rank];
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      std::perror(path.c_str());
      return 2;
    }
    ::close(fd);
  }
  Context ctx;
  std::unique_ptr<ZapAuthenticator> zap;
  ZmqRingOptions ro{.socket_buffer_bytes = cfg.socket_buffer_kib * 1024};
  ro.shared_memory = !cfg.tcp;
  ro.tcp_stream = !cfg.zeromq;
  ro.shm_slots = cfg.shm_slots;
  ro.shm_slot_bytes = cfg.shm_slot_kib * 1024;
  if (cfg.curve) {
    ro.curve_public_key = cfg.job_keys.public_key;
    ro.curve_secret_key = cfg.job_keys.secret_key;
    zap = std::make_unique<ZapAuthenticator>(
        ctx, ZapAuthenticator::admit_only("ring", cfg.job_keys.public_key));
  }
  ZmqRingTransport transport(ro);
  const std::string host = cfg.hosts.empty() ? "127.0.0.1" : cfg.hosts[rank];
  if (!write_all(out_fd, transport.listen(ctx, host) + "\n")) return 3;
  std::vector<std::string> eps(cfg.world);
  for (auto& e : eps)
    if (!read_line(in_fd, e, 20000)) return 4;
  transport.connect(rank, eps, std::chrono::milliseconds(20000));
  AllreduceOptions o;
  o.chunk_bytes = cfg.chunk_kib * 1024;
  o.compression = cfg.compression;
  RingAllreduce ar(transport, o);
  RingAllreduce barrier(transport, {});
  std::ostringstream report;
  for (double mib : cfg.sizes_mib) {
    const auto n = static_cast<size_t>(mib * (1 << 20) / 4);
    std::vector<float> x(n, 1.0f / static_cast<float>(rank + 1));
    for (int i = 0; i < cfg.warmup; ++i) ar.sum(x, 1);
    // The iteration count is rank 0's decision, shared by an all-reduce.
    std::vector<float> one = {0.0f};
    const auto probe0 = Clock::now();
    ar.sum(x, 1);
    const double probe = std::chrono::duration<double>(Clock::now() - probe0).count();
    one[0] = rank == 0
                 ? static_cast<float>(std::max<double>(cfg.min_iters, cfg.min_seconds / probe))
                 : 0.0f;
    barrier.sum(one, 2);
    const int iters = static_cast<int>(one[0]);
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) ar.sum(x, 1);
    const double mean = std::chrono::duration<double>(Clock::now() - t0).count() / iters;
    report << mib << " " << iters << " " << mean << " "
           << (transport.sends_over_shared_memory() ? "shm" : "tcp") << "\n";
  }
  report << "END\n";
  return write_all(out_fd, report.str()) ? 0 : 5;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app("ring all-reduce bus bandwidth between processes (shared memory or ZeroMQ TCP)");
  app.add_option("--world", cfg.world, "ranks (processes)");
  app.add_option("--sizes-mib", cfg.sizes_mib, "buffer sizes in MiB of float32");
  app.add_option("--warmup", cfg.warmup);
  app.add_option("--min-seconds", cfg.min_seconds, "time each size at least this long");
  app.add_option("--min-iters", cfg.min_iters);
  app.add_option("--chunk-kib", cfg.chunk_kib, "all-reduce chunk (fp32 KiB per message)");
  app.add_option("--compression", cfg.compression)
      ->transform(CLI::CheckedTransformer(ringmaster::comm::compression_names()));
  app.add_option("--socket-buffer-kib", cfg.socket_buffer_kib, "ZMQ_SNDBUF/RCVBUF (0: OS)");
  app.add_option("--netns", cfg.netns, "network namespace per rank (root)");
  app.add_option("--hosts", cfg.hosts, "listen address per rank (default 127.0.0.1)");
  app.add_flag("--curve", cfg.curve, "encrypt the ring with CURVE (one job keypair)");
  app.add_flag("--tcp", cfg.tcp, "TCP between same-host ranks too (no shared memory)");
  app.add_flag("--zeromq", cfg.zeromq, "TCP chunks through ZeroMQ (no TCP stream of our own)");
  app.add_option("--shm-slots", cfg.shm_slots, "slots per shared-memory link");
  app.add_option("--shm-slot-kib", cfg.shm_slot_kib, "payload KiB per shared-memory slot");
  CLI11_PARSE(app, argc, argv);
  if (cfg.curve) cfg.job_keys = make_curve_keypair();
  if ((!cfg.netns.empty() && static_cast<int>(cfg.netns.size()) != cfg.world) ||
      (!cfg.hosts.empty() && static_cast<int>(cfg.hosts.size()) != cfg.world)) {
    std::fprintf(stderr, "--netns and --hosts need one entry per rank\n");
    return 2;
  }

  std::vector<pid_t> pids;
  std::vector<int> from, to;
  for (int r = 0; r < cfg.world; ++r) {
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      ::close(up[0]);
      ::close(down[1]);
      int rc = 1;
      try {
        rc = rank_main(cfg, r, up[1], down[0]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      }
      _exit(rc);
    }
    ::close(up[1]);
    ::close(down[0]);
    pids.push_back(pid);
    from.push_back(up[0]);
    to.push_back(down[1]);
  }
  std::string list;
  int rc = 0;
  for (int r = 0; r < cfg.world; ++r) {
    std::string ep;
    if (!read_line(from[r], ep, 20000)) rc = 1;
    list += ep + "\n";
  }
  for (int r = 0; r < cfg.world; ++r) write_all(to[r], list);
  // Per size: the slowest rank's mean.
  std::vector<double> worst(cfg.sizes_mib.size(), 0.0);
  std::vector<int> iters(cfg.sizes_mib.size(), 0);
  bool all_shm = true;
  for (int r = 0; r < cfg.world && rc == 0; ++r) {
    for (size_t s = 0; s < cfg.sizes_mib.size(); ++s) {
      std::string line;
      if (!read_line(from[r], line, 600000)) {
        rc = 1;
        break;
      }
      double mib, mean;
      int it;
      std::string path;
      std::istringstream(line) >> mib >> it >> mean >> path;
      all_shm = all_shm && path == "shm";
      worst[s] = std::max(worst[s], mean);
      iters[s] = it;
    }
  }
  for (int r = 0; r < cfg.world; ++r) {
    int st = 0;
    waitpid(pids[r], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
  }
  if (rc != 0) {
    std::fprintf(stderr, "bench_allreduce_busbw: a rank failed\n");
    return rc;
  }
  const double n = cfg.world;
  for (size_t s = 0; s < cfg.sizes_mib.size(); ++s) {
    const double bytes = cfg.sizes_mib[s] * (1 << 20);
    const double busbw = bytes / worst[s] * 2 * (n - 1) / n / 1e9;
    std::printf(
        "RESULT impl=ours compression=%s world=%d bytes=%.0f iters=%d time_us=%.1f "
        "busbw_GBps=%.3f path=%s\n",
        to_string(cfg.compression), cfg.world, bytes, iters[s], worst[s] * 1e6, busbw,
        all_shm ? "shm" : "tcp");
  }
  return 0;
}
