// A deliberately dumb HTTP/1.1 client on a POSIX socket for tests: sends
// exactly the bytes it is given (so tests can send malformed or oversize
// requests), reads one response (Content-Length or chunked), and never waits
// longer than its receive timeout. Loopback only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::testing_support {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

class RawHttp {
 public:
  // source: the local address to connect from (any 127.x.y.z is loopback on
  // Linux, so a test can play several client addresses); empty: the kernel's pick.
  explicit RawHttp(uint16_t port, int timeout_ms = 5000, const std::string& source = "") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    if (!source.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
          ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        ::close(fd_);
        throw std::runtime_error("cannot bind to " + source);
      }
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    }
  }
  ~RawHttp() { ::close(fd_); }
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  // False when the peer closed or the send timed out.
  bool send_raw(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  RawResponse request(const std::string& method, const std::string& target,
                      const std::string& body = "",
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    if (!send_raw(req)) {
      const int err = errno;  // before the message's calls can change it
      throw std::runtime_error(std::string("send failed: ") + std::strerror(err) + " (local port " +
                               std::to_string(local_port()) + ")");
    }
    return read_response();
  }

  // Throws std::runtime_error on a timeout or a closed connection.
  RawResponse read_response() {
    RawResponse r;
    const std::string head = read_until("\r\n\r\n");
    const size_t sp = head.find(' ');
    r.status = std::stoi(head.substr(sp + 1, 3));
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      pos = end + 2;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    if (r.header("transfer-encoding") == "chunked") {
      for (;;) {
        const std::string size_line = read_until("\r\n");
        const size_t n = std::stoul(size_line, nullptr, 16);
        if (n == 0) {
          read_until("\r\n");
          break;
        }
        r.body += read_exactly(n);
        read_exactly(2);
      }
    } else if (!r.header("content-length").empty()) {
      r.body = read_exactly(std::stoul(r.header("content-length")));
    }
    return r;
  }

  int fd() const { return fd_; }
  // The port this end was bound to (0 when it cannot be read).
  int local_port() const {
    sockaddr_in a{};
    socklen_t n = sizeof a;
    return ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n) == 0 ? ntohs(a.sin_port) : 0;
  }

  // True when the server closed the connection (reads EOF within the timeout).
  bool closed_by_peer() {
    if (!buffer_.empty()) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  void fill() {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error(n == 0 ? "connection closed" : "receive timed out");
    buffer_.append(buf, static_cast<size_t>(n));
  }
  std::string read_until(const std::string& delim) {
    size_t at;
    while ((at = buffer_.find(delim)) == std::string::npos) fill();
    std::string out = buffer_.substr(0, at);
    buffer_.erase(0, at + delim.size());
    return out;
  }
  std::string read_exactly(size_t n) {
    while (buffer_.size() < n) fill();
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace ringmaster::testing_support
