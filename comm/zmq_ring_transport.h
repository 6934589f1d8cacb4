// RingTransport over ZeroMQ TCP, with chunks through shared memory between
// neighbours on one host (shm_link.h) and, without CURVE, through a plain
// TCP stream of the ring's own between others (tcp_stream.h). Each rank
// binds one ROUTER (its left neighbour's hello and aborts arrive there) and
// connects one DEALER to its right neighbour's ROUTER. Setup is two-phase so
// that a rendezvous can go through the coordinator: listen() before the peers
// are known, connect() once every rank's endpoint is. Over ZeroMQ, payloads
// are copied once into a buffer ZeroMQ owns (so a failed collective never
// leaves the caller's memory referenced); every receive is validated; a
// socket monitor turns a neighbour's disconnect into a CommError at once
// instead of at the timeout. No ZeroMQ type appears here.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "comm/ring_transport.h"
#include "comm/transport.h"

namespace ringmaster::comm {

struct ZmqRingOptions {
  // ZMQ_MAXMSGSIZE on the receiving socket: a larger frame drops the sender's
  // connection (seen here as its disconnect). Chunks must fit in it.
  int64_t max_payload_bytes = int64_t{64} << 20;
  // ZMQ_SNDBUF / ZMQ_RCVBUF (kernel socket buffers); 0: the OS default.
  int socket_buffer_bytes = 0;
  // ZMQ_SNDHWM / ZMQ_RCVHWM in messages; 0: no limit (a ring collective
  // bounds what it queues itself: at most one step of chunks per link).
  int high_water_mark = 0;
  // CURVE with the job's keypair (Z85; empty: plain TCP). Every rank holds
  // the same pair, so only the job's ranks can connect: the listener is a
  // CURVE server under ZAP domain "ring", and the context must run a
  // ZapAuthenticator (zap_authenticator.h) that admits exactly this public
  // key before listen().
  std::string curve_public_key, curve_secret_key;
  // Same-host neighbours exchange chunks through shared memory (shm_link.h):
  // the hello carries same_host_id(), and a receiver with the same id offers
  // a segment of shm_slots slots of shm_slot_bytes each in its welcome. The
  // ZeroMQ connection stays for the handshake, aborts and the neighbour's
  // liveness. false (or RINGMASTER_RING_SHM=0 in the environment): TCP only,
  // as between hosts.
  bool shared_memory = true;
  // Over shared memory, a receiver that may read the sender's memory
  // (process_vm_readv: same user, ptrace allowed) reads chunks straight from
  // the sender's buffer instead of a copy in a slot. The receiver decides.
  bool cross_memory_attach = true;
  // Between neighbours not on one host (or with shared memory off), chunks
  // go over a plain TCP connection of the ring's own (tcp_stream.h),
  // written from the caller's buffer by this thread, instead of through
  // ZeroMQ; never with CURVE keys. false (or RINGMASTER_RING_STREAM=0):
  // chunks through ZeroMQ.
  bool tcp_stream = true;
  uint32_t shm_slots = 16;
  uint64_t shm_slot_bytes = uint64_t{1} << 20;
  // The world's generation (a cluster job's attempt): every rank of one ring
  // has the same, and a hello or welcome of another is refused, so a rank
  // of an earlier world can never join a later one.
  uint64_t generation = 0;
  // The run's cancel flag (null: none). Once it is set, whatever waits on a
  // neighbour (handshake, send, receive, flush) gives up within about a
  // second with a CommError saying so, and tells both neighbours, instead
  // of waiting out its deadline on a stalled peer. Must outlive the transport.
  const std::atomic<bool>* cancel = nullptr;
};

// Not thread-safe: after connect(), use from one thread (the comm thread).
// Blocking calls block at most until the deadline they are given (connect:
// its timeout). The Context must outlive the transport.
class ZmqRingTransport final : public RingTransport {
 public:
  explicit ZmqRingTransport(ZmqRingOptions options = {});
  ~ZmqRingTransport() override;
  ZmqRingTransport(const ZmqRingTransport&) = delete;
  ZmqRingTransport& operator=(const ZmqRingTransport&) = delete;

  // Phase 1: binds an ephemeral TCP port on `host` ("127.0.0.1", a netns IP,
  // "*") and returns the endpoint peers must connect to
  // ("tcp://127.0.0.1:41234"). Throws TransportError.
  std::string listen(Context& ctx, const std::string& host);
  // Phase 2: `endpoints` holds every rank's listen() result in rank order.
  // Connects to the right neighbour and handshakes both ways (hello ->,
  // <- welcome), so a wrong, dead or foreign peer is a CommError within
  // `timeout`, not a hang. World 1 connects to nothing.
  void connect(int rank, const std::vector<std::string>& endpoints,
               std::chrono::milliseconds timeout);

  int rank() const override;
  int world() const override;
  size_t max_payload_bytes() const override;
  void send(const ChunkHeader& header, std::span<const std::byte> payload,
            Clock::time_point deadline) override;
  void receive(const ChunkHeader& expected, const Consumer& consume,
               Clock::time_point deadline) override;
  ChunkHeader receive_into(const ChunkHeader& expected, std::span<std::byte> dst,
                           Clock::time_point deadline) override;
  void flush(Clock::time_point deadline) override;
  WireCounters counters() const override;

  // Whether chunks to the right neighbour / from the left one go through
  // shared memory (after connect(); the receiving side knows once the left
  // neighbour has attached, at the latest with its first chunk).
  bool sends_over_shared_memory() const;
  bool receives_over_shared_memory() const;
  // Whether this rank may read chunks from the left neighbour's memory
  // (cross_memory_attach, known from the first receive on).
  bool reads_left_neighbours_memory() const;
  // Whether chunks to the right neighbour go over the ring's own TCP stream.
  bool sends_over_tcp_stream() const;
  // What the kernel counted on this rank's TCP streams, both directions
  // summed (TCP_INFO: bytes the peer acknowledged, bytes received); false
  // when there is none.
  bool kernel_stream_bytes(uint64_t& sent, uint64_t& received) const;

  // Closes the sockets now (a test's way to make this rank "die"); later
  // calls throw CommError.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmaster::comm
