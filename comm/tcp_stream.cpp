// TcpStream and TcpStreamListener (see tcp_stream.h): non-blocking sockets,
// writev of queued chunks straight from the caller's buffers, reads into one
// reused buffer.
#include "comm/tcp_stream.h"
#include "comm/poll_deadline.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace ringmaster::comm {
namespace {

using Clock = TcpStream::Clock;
constexpr int kMaxIov = 32;
constexpr size_t kMaxCandidates = 16;  // connections that have not shown a cookie yet

// The IPv4 address of "tcp://A.B.C.D:PORT"; false for anything else.
bool endpoint_address(const std::string& endpoint, in_addr& out) {
  const std::string scheme = "tcp://";
  if (endpoint.compare(0, scheme.size(), scheme) != 0) return false;
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon < scheme.size()) return false;
  const std::string host = endpoint.substr(scheme.size(), colon - scheme.size());
  return inet_pton(AF_INET, host.c_str(), &out) == 1;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::string StreamOffer::encode() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "tcp %u %016llx%016llx", static_cast<unsigned>(port),
                static_cast<unsigned long long>(cookie[0]),
                static_cast<unsigned long long>(cookie[1]));
  return buf;
}

bool StreamOffer::decode(const std::byte* data, size_t size, StreamOffer& out) {
  if (size > 64) return false;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  std::string tag, hex, rest;
  unsigned port = 0;
  if (!(in >> tag >> port >> hex) || tag != "tcp" || (in >> rest)) return false;
  if (port == 0 || port > 65535 || hex.size() != 32 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return false;
  StreamOffer o;
  o.port = static_cast<uint16_t>(port);
  o.cookie[0] = std::stoull(hex.substr(0, 16), nullptr, 16);
  o.cookie[1] = std::stoull(hex.substr(16), nullptr, 16);
  out = o;
  return true;
}

TcpStream::TcpStream(int fd, int socket_buffer_bytes) : fd_(fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (socket_buffer_bytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
    // A fixed receive buffer: ask for no more than a part of it at once.
    max_low_water_ = std::min<size_t>(max_low_water_, static_cast<size_t>(socket_buffer_bytes) / 4);
  }
}

TcpStream::~TcpStream() { ::close(fd_); }

std::unique_ptr<TcpStream> TcpStream::connect(const std::string& zmq_endpoint,
                                              const StreamOffer& offer, int socket_buffer_bytes,
                                              Clock::time_point deadline, std::string& why) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(offer.port);
  if (!endpoint_address(zmq_endpoint, addr.sin_addr)) {
    why = "not an IPv4 endpoint: " + zmq_endpoint;
    return nullptr;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = errno_text("socket");
    return nullptr;
  }
  auto stream = std::make_unique<TcpStream>(fd, socket_buffer_bytes);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      why = errno_text("connect");
      return nullptr;
    }
    pollfd p{fd, POLLOUT, 0};
    for (;;) {
      const int n =
          ::poll(&p, 1, static_cast<int>(poll_ms(deadline, std::chrono::milliseconds(100))));
      if (n > 0) break;
      if (n < 0 && errno != EINTR) {
        why = errno_text("poll");
        return nullptr;
      }
      if (Clock::now() >= deadline) {
        why = "connect timed out";
        return nullptr;
      }
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      why = std::string("connect: ") + std::strerror(err);
      return nullptr;
    }
  }
  // A fresh connection's buffer takes 16 bytes at once.
  if (::send(fd, offer.cookie, kStreamCookieBytes, MSG_NOSIGNAL | MSG_DONTWAIT) !=
      static_cast<ssize_t>(kStreamCookieBytes)) {
    why = errno_text("sending the cookie");
    return nullptr;
  }
  return stream;
}

void TcpStream::queue(const wire::Header& header, std::span<const std::byte> payload) {
  out_.push_back({header, payload});
}

void TcpStream::drop_queue() {
  out_.clear();
  front_written_ = 0;
}

TcpStream::Io TcpStream::write_some(WireCounters& counted) {
  constexpr uint64_t kHeader = sizeof(wire::Header);
  while (!out_.empty()) {
    iovec iov[kMaxIov];
    int n = 0;
    uint64_t skip = front_written_;
    auto add = [&](const void* base, uint64_t size) {
      if (skip >= size) {
        skip -= size;
        return;
      }
      iov[n++] = {const_cast<std::byte*>(static_cast<const std::byte*>(base)) + skip, size - skip};
      skip = 0;
    };
    for (auto it = out_.begin(); it != out_.end() && n + 2 <= kMaxIov; ++it) {
      add(&it->header, kHeader);
      if (!it->payload.empty()) add(it->payload.data(), it->payload.size());
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    const ssize_t w = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kAgain;
      error_ = errno_text("send");
      return Io::kClosed;
    }
    auto left = static_cast<uint64_t>(w);
    while (left > 0) {
      Outgoing& front = out_.front();
      const uint64_t total = kHeader + front.payload.size();
      const uint64_t take = std::min(left, total - front_written_);
      front_written_ += take;
      left -= take;
      if (front_written_ == total) {
        counted.count_sent(kHeader);
        if (!front.payload.empty()) counted.count_sent(front.payload.size());
        out_.pop_front();
        front_written_ = 0;
      }
    }
  }
  return Io::kDone;
}

TcpStream::Io TcpStream::read_into(std::byte* dst, size_t want, size_t& have) {
  while (have < want) {
    const ssize_t r = ::recv(fd_, dst + have, want - have, MSG_DONTWAIT);
    if (r > 0) {
      have += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      error_ = "the connection was closed";
      return Io::kClosed;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Wake a poll on this socket only once what is missing (capped) is here.
      const int lowat = static_cast<int>(std::clamp<size_t>(want - have, 1, max_low_water_));
      if (lowat != low_water_ &&
          setsockopt(fd_, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) == 0)
        low_water_ = lowat;
      return Io::kAgain;
    }
    error_ = errno_text("recv");
    return Io::kClosed;
  }
  return Io::kDone;
}

TcpStream::Io TcpStream::read_header(wire::Header& out, WireCounters& counted) {
  const Io io = read_into(header_buf_, sizeof header_buf_, header_have_);
  if (io != Io::kDone) return io;
  std::memcpy(&out, header_buf_, sizeof out);
  header_have_ = 0;
  counted.count_received(sizeof out);
  return Io::kDone;
}

TcpStream::Io TcpStream::read_payload(uint64_t bytes, WireCounters& counted, std::byte* dst) {
  if (dst == nullptr && in_buf_.size() < bytes) in_buf_.resize(bytes);
  const Io io = read_into(dst != nullptr ? dst : in_buf_.data(), bytes, in_have_);
  if (io != Io::kDone) return io;
  in_bytes_ = bytes;
  in_have_ = 0;
  if (bytes > 0) counted.count_received(bytes);
  return Io::kDone;
}

bool TcpStream::kernel_bytes(uint64_t& acked, uint64_t& received) const {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return false;
  acked = info.tcpi_bytes_acked;
  received = info.tcpi_bytes_received;
  return true;
}

std::unique_ptr<TcpStreamListener> TcpStreamListener::open(const std::string& zmq_endpoint) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (!endpoint_address(zmq_endpoint, addr.sin_addr)) return nullptr;
  StreamOffer offer;
  if (getrandom(offer.cookie, sizeof offer.cookie, 0) != static_cast<ssize_t>(sizeof offer.cookie))
    return nullptr;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 8) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return nullptr;
  }
  offer.port = ntohs(addr.sin_port);
  return std::unique_ptr<TcpStreamListener>(new TcpStreamListener(fd, offer));
}

TcpStreamListener::~TcpStreamListener() { ::close(fd_); }

std::unique_ptr<TcpStream> TcpStreamListener::accept(int socket_buffer_bytes,
                                                     Clock::time_point deadline) {
  struct Candidate {
    int fd;
    std::byte got[kStreamCookieBytes];
    size_t have = 0;
  };
  std::vector<Candidate> candidates;
  auto drop = [&](size_t i) {
    ::close(candidates[i].fd);
    candidates.erase(candidates.begin() + static_cast<long>(i));
  };
  for (;;) {
    for (;;) {  // every connection waiting to be accepted
      const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      if (candidates.size() == kMaxCandidates) drop(0);
      candidates.push_back({fd, {}, 0});
    }
    for (size_t i = 0; i < candidates.size();) {
      Candidate& c = candidates[i];
      const ssize_t r = ::recv(c.fd, c.got + c.have, sizeof c.got - c.have, MSG_DONTWAIT);
      if (r > 0) c.have += static_cast<size_t>(r);
      const bool failed =
          r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      if (c.have == sizeof c.got) {
        if (std::memcmp(c.got, offer_.cookie, sizeof c.got) == 0) {
          auto stream = std::make_unique<TcpStream>(c.fd, socket_buffer_bytes);
          candidates.erase(candidates.begin() + static_cast<long>(i));
          for (size_t j = 0; j < candidates.size(); ++j) ::close(candidates[j].fd);
          return stream;
        }
        drop(i);  // a stranger
        continue;
      }
      if (failed) {
        drop(i);
        continue;
      }
      ++i;
    }
    if (Clock::now() >= deadline) break;
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    for (const Candidate& c : candidates) fds.push_back({c.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(),
           static_cast<int>(std::max<long>(1, poll_ms(deadline, std::chrono::milliseconds(100)))));
  }
  for (const Candidate& c : candidates) ::close(c.fd);
  return nullptr;
}

}  // namespace ringmaster::comm
