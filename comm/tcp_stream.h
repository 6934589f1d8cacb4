// A one-way TCP connection for ring chunks, beside the ZeroMQ connection
// that keeps the handshake, aborts and liveness (as ShmLink does on one
// host). The sending rank listens on an ephemeral port of its own address and
// offers it in its hello (port and a random cookie); the receiving rank
// connects, presents the cookie, and says so in its welcome; the sender takes
// the one connection that presented it. Chunks then go as a 56-byte
// wire::Header and the payload, straight from the caller's buffer into the
// kernel (no copy of ours, no I/O thread: the rank's own thread writes and
// reads, non-blocking, and makes progress on both directions while it waits),
// and arrive in one reused buffer that stays in cache. Only without CURVE:
// with the job's keys, chunks stay on the encrypted ZeroMQ connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/ring_wire.h"
#include "comm/wire_counters.h"

namespace ringmaster::comm {

// What a hello carries so the right neighbour can connect.
struct StreamOffer {
  uint16_t port = 0;
  uint64_t cookie[2] = {0, 0};
  std::string encode() const;
  static bool decode(const std::byte* data, size_t size, StreamOffer& out);
};

// What the connecting side writes first: the offer's cookie.
inline constexpr size_t kStreamCookieBytes = 16;

// What a welcome carries when its sender connected to the offered stream.
inline constexpr std::string_view kStreamTaken = "tcp taken";

class TcpStream {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Io { kDone, kAgain, kClosed };

  // Receiver: connects to `offer`'s port on the host of `zmq_endpoint`
  // ("tcp://10.0.0.2:4100", IPv4) and presents the cookie; nullptr with
  // `why` when it cannot by `deadline`.
  static std::unique_ptr<TcpStream> connect(const std::string& zmq_endpoint,
                                            const StreamOffer& offer, int socket_buffer_bytes,
                                            Clock::time_point deadline, std::string& why);
  // Takes a connected socket; socket_buffer_bytes > 0: SO_SNDBUF / SO_RCVBUF.
  TcpStream(int fd, int socket_buffer_bytes);
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  int fd() const { return fd_; }

  // Sending, in order: each chunk's header and payload; the payload is
  // referenced (not copied) until it was written.
  void queue(const wire::Header& header, std::span<const std::byte> payload);
  // Writes what the socket takes now. kDone: nothing is left queued; kAgain:
  // the socket is full; kClosed: the connection failed (error()).
  Io write_some(WireCounters& counted);
  bool has_queued() const { return !out_.empty(); }
  size_t queued() const { return out_.size(); }  // chunks not (wholly) written
  void drop_queue();                             // the caller's buffers are no longer ours to read

  // Receiving: a chunk's header, then (once the caller has checked it) its
  // payload, into payload() or, given `dst`, there. kAgain: not all of it is here yet (the part
  // that is stays); kClosed: the peer closed or the connection failed.
  Io read_header(wire::Header& out, WireCounters& counted);
  Io read_payload(uint64_t bytes, WireCounters& counted, std::byte* dst = nullptr);
  std::span<const std::byte> payload() const { return {in_buf_.data(), in_bytes_}; }

  const std::string& error() const { return error_; }
  // The kernel's own count for this connection (TCP_INFO): payload bytes the
  // peer acknowledged, and payload bytes received. False when unavailable.
  bool kernel_bytes(uint64_t& acked, uint64_t& received) const;

 private:
  struct Outgoing {
    wire::Header header;
    std::span<const std::byte> payload;
  };
  Io read_into(std::byte* dst, size_t want, size_t& have);

  int fd_;
  std::deque<Outgoing> out_;
  uint64_t front_written_ = 0;  // bytes of out_.front() (header, then payload) written
  std::byte header_buf_[sizeof(wire::Header)];
  size_t header_have_ = 0;
  std::vector<std::byte> in_buf_;
  size_t in_have_ = 0, in_bytes_ = 0;
  // SO_RCVLOWAT: a reader waiting in poll is woken once what it still
  // misses of a header or payload is here (at most max_low_water_), not at
  // every segment. Fewer wake-ups and reads: busbw between two namespaces at
  // 16 MiB went from 1.29 to 1.50-1.53 GB/s.
  int low_water_ = 1;
  size_t max_low_water_ = 256 << 10;
  std::string error_;
};

// Sender: the listening socket during the handshake.
class TcpStreamListener {
 public:
  using Clock = TcpStream::Clock;
  // Listens on an ephemeral port of `zmq_endpoint`'s IPv4 address (this
  // rank's ZeroMQ listener); nullptr when that is not a numeric IPv4
  // endpoint or the system refuses.
  static std::unique_ptr<TcpStreamListener> open(const std::string& zmq_endpoint);
  ~TcpStreamListener();
  TcpStreamListener(const TcpStreamListener&) = delete;
  TcpStreamListener& operator=(const TcpStreamListener&) = delete;

  StreamOffer offer() const { return offer_; }
  // The connection that presents the cookie, by `deadline` (others are
  // closed); nullptr when none did.
  std::unique_ptr<TcpStream> accept(int socket_buffer_bytes, Clock::time_point deadline);

 private:
  explicit TcpStreamListener(int fd, StreamOffer offer) : fd_(fd), offer_(offer) {}
  int fd_;
  StreamOffer offer_;
};

}  // namespace ringmaster::comm
