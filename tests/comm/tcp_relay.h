// A TCP relay on 127.0.0.1 that counts the bytes it carries: tests put it
// between two peers (connect to endpoint() instead of the target) to measure
// what really crossed the wire, ZeroMQ's framing and handshakes included.
// Every accepted connection gets a fresh connection to the target and one
// thread per direction; the destructor shuts every socket down and joins.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "comm/transport.h"

namespace ringmaster::comm::testing {

class TcpRelay {
 public:
  // `target`: "tcp://127.0.0.1:PORT".
  explicit TcpRelay(const std::string& target) {
    const TcpEndpoint t = split_tcp_endpoint(target);
    target_ = loopback(static_cast<uint16_t>(std::stoi(t.port)));
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in any = loopback(0);
    socklen_t len = sizeof any;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&any), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&any), &len) != 0)
      throw std::runtime_error("relay: cannot listen on 127.0.0.1");
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(any.sin_port));
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TcpRelay() {
    stop_ = true;
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  // Bytes carried from the connecting side to the target, and back.
  uint64_t forward_bytes() const { return forward_; }
  uint64_t backward_bytes() const { return backward_; }
  uint64_t total_bytes() const { return forward_ + backward_; }
  int connections() const { return connections_; }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  // Polls so that the destructor's stop_ is seen within 50 ms.
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int in = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (in < 0) continue;
      const int out = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (out < 0 ||
          ::connect(out, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0) {
        ::close(in);
        if (out >= 0) ::close(out);
        continue;  // the target refused: so does the relay
      }
      std::lock_guard lock(mu_);
      ++connections_;
      fds_.push_back(in);
      fds_.push_back(out);
      pumps_.emplace_back([this, in, out] { pump(in, out, forward_); });
      pumps_.emplace_back([this, in, out] { pump(out, in, backward_); });
    }
  }
  // Copies from -> to until either side closes; counts what it wrote.
  static void pump(int from, int to, std::atomic<uint64_t>& count) {
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t at = 0; at < n;) {
        const ssize_t k = ::send(to, buf + at, static_cast<size_t>(n - at), MSG_NOSIGNAL);
        if (k <= 0) {
          ::shutdown(from, SHUT_RDWR);
          return;
        }
        at += k;
        count += static_cast<uint64_t>(k);
      }
    }
    ::shutdown(to, SHUT_WR);
  }

  sockaddr_in target_{};
  int listen_fd_ = -1;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forward_{0}, backward_{0};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace ringmaster::comm::testing
