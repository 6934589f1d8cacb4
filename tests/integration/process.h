// Test helper: runs the ringmaster binary as a child process (fork + exec),
// output to files, with kill and bounded waits; and free loopback ports.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ringmaster::testing_support {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A TCP socket bound to a free loopback port, which goes to `port`; -1 when
// the kernel would not give one.
inline int bound_loopback_socket(uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

// A port that was free a moment ago (the kernel does not hand it out again at once).
inline uint16_t free_port() {
  uint16_t port = 0;
  if (const int fd = bound_loopback_socket(port); fd >= 0) ::close(fd);
  return port;
}

class Process {
 public:
  // `ringmaster ARGS`.
  Process(const std::vector<std::string>& args, const std::string& out_path)
      : Process(RINGMASTER_BIN, args, out_path) {}
  // Any program (an absolute path, or a name looked up in PATH).
  Process(const std::string& program, const std::vector<std::string>& args,
          const std::string& out_path)
      : out_(out_path) {
    std::vector<std::string> all = {program};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : all) argv.push_back(s.data());
    argv.push_back(nullptr);
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      const int null = ::open("/dev/null", O_RDONLY);
      dup2(null, 0);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    ::close(fd);
  }
  ~Process() {
    if (!done_) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(10));
    }
  }
  void signal(int sig) {
    if (!done_) ::kill(pid_, sig);
  }
  // True when it exited within the limit; exit_code() then says how.
  bool wait(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done_) {
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        done_ = true;
        code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  int exit_code() const { return code_; }
  std::string output() const { return slurp(out_); }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = -1;
  std::string out_;
};

// Runs to completion (bounded); returns {exit code, output}.
inline std::pair<int, std::string> run(const std::vector<std::string>& args,
                                       const std::string& out_path,
                                       std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  Process p(args, out_path);
  if (!p.wait(limit)) {
    p.signal(SIGKILL);
    p.wait(std::chrono::seconds(5));
    return {-1, p.output() + "\n[test: killed after the time limit]"};
  }
  return {p.exit_code(), p.output()};
}

}  // namespace ringmaster::testing_support
