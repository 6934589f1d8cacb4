// The ZAP handler (RFC 27) of a ZeroMQ context: every CURVE handshake on the
// context's server sockets asks it whether the client's public key may
// connect, by the socket's ZAP domain. A refused client never gets a
// connection, so nothing it sends is read. One per Context (it binds
// inproc://zeromq.zap.01 there); runs one thread; must be started before a
// CURVE server socket is bound on the context and destroyed before the
// context.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "comm/transport.h"

namespace ringmaster::comm {

// The allowlist of a domain, read from its file again whenever the file
// changes (size or modification time), so keys can be added or revoked
// without a restart. Thread-safe.
class CurveAllowlist {
 public:
  // Reads it now: throws TransportError when the file is unreadable or bad.
  explicit CurveAllowlist(std::string path);
  // Re-reads a changed file first; a file that became unreadable or bad
  // keeps the previous keys (and says why on stderr once per change).
  bool allows(const std::string& public_key);
  size_t size();

 private:
  void reload_if_changed();
  std::string path_;
  std::mutex mu_;
  std::set<std::string> keys_;
  int64_t size_ = -1;
  timespec mtime_{};
};

class ZapAuthenticator {
 public:
  // Whether a client with this public key (Z85) may connect to a socket of
  // this domain; `address` is the client's IP. Called on the handler thread.
  using Policy = std::function<bool(const std::string& domain, const std::string& public_key,
                                    const std::string& address)>;
  // Binds and starts the thread. Throws TransportError.
  ZapAuthenticator(Context& ctx, Policy policy);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  struct Counts {
    uint64_t accepted = 0, refused = 0;
  };
  std::map<std::string, Counts> counts() const;  // by domain; thread-safe

  // The policy of a context with one kind of CURVE server: clients of
  // `domain` with exactly `public_key` (a job's ring keys).
  static Policy admit_only(std::string domain, std::string public_key);

 private:
  void run();
  void answer(void* socket);

  Policy policy_;
  void* socket_ = nullptr;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, Counts> counts_;
  std::thread thread_;
};

}  // namespace ringmaster::comm
