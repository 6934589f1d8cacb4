// A one-way link between two ring neighbours on the same host: a ring of
// slots in shared memory. The receiving rank creates the segment (a memfd,
// so nothing is ever left in /dev/shm: it goes when the last process that
// maps it exits, however it exits; its size sealed, so the sender cannot
// truncate it under the receiver) and offers it in its handshake welcome;
// the sending rank opens it through /proc/PID/fd/FD, which works only between
// processes of one user in one PID namespace on one boot (same_host_id()).
// The segment is a ring of entries (a chunk's header each), deeper than its
// payload slots. The sender copies a chunk into a free slot and publishes its
// entry; the receiver reads it where it lies (the reduction runs straight from
// the slot) and releases it. Once the receiver has shown it may read the
// sender's memory (process_vm_readv of a probe word, cross-memory attach),
// the sender publishes only a descriptor of the chunk (address, length) and
// the receiver reads the chunk straight out of the sender's buffer: one memory
// pass less on each side. Descriptors need no slot: up to `entries` of them
// are in flight, so a step's chunks are all published at once however many
// there are (with 16 entries, a 64 MiB all-reduce of two ranks waited for
// free ones: 3.15 GB/s busbw against 3.77 with 256). Wake-ups are futexes on
// the two counters. Waits are bounded: the transport waits in short slices
// so it can watch its ZeroMQ control connection (a dead neighbour's TCP
// drop, an abort) in between.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "comm/ring_wire.h"

namespace ringmaster::comm {

// "BOOT_ID:PID_NAMESPACE:UID": ranks with equal ids can share memory this way.
// Empty when it cannot be read (then no segment is offered).
std::string same_host_id();

// What a welcome carries so the left neighbour can open the segment.
struct ShmOffer {
  int64_t pid = 0;
  int fd = -1;
  uint64_t cookie = 0;
  uint64_t bytes = 0;
  std::string encode() const;
  static bool decode(const std::byte* data, size_t size, ShmOffer& out);
};

class ShmLink {
 public:
  using Clock = std::chrono::steady_clock;
  // One slot: the chunk's wire header (bytes: the whole chunk) and, for a
  // chunk larger than a slot, where this part goes.
  struct SlotHeader {
    wire::Header chunk;
    uint64_t part_offset = 0;
    uint64_t part_bytes = 0;
    uint64_t remote_address = 0;  // not 0: the chunk is there in the sender, not in the slot
  };

  // Receiver: a new segment of `slots` slots of `slot_bytes` payload each and
  // max(slots, kMinEntries) entries, rounded up to a power of two. Throws
  // std::runtime_error when the system refuses.
  static constexpr uint32_t kMinEntries = 256;
  static std::unique_ptr<ShmLink> create(uint32_t slots, uint64_t slot_bytes);
  // Sender: maps the segment `offer` names; nullptr with `why` when it cannot.
  static std::unique_ptr<ShmLink> attach(const ShmOffer& offer, std::string& why);
  ~ShmLink();
  ShmLink(const ShmLink&) = delete;
  ShmLink& operator=(const ShmLink&) = delete;

  ShmOffer offer() const;
  uint64_t slot_bytes() const;
  // The sender marks the segment used before its first chunk; until then the
  // receiver also accepts chunks over TCP.
  void mark_attached();
  bool attached() const;

  // Cross-memory attach. The sender publishes a probe word at attach; the
  // receiver tries to read it (probe_peer) and records the answer, which the
  // sender reads (peer_reads_memory) before every chunk.
  bool probe_peer();  // receiver: true when it may read the sender's memory
  bool peer_reads_memory() const;
  int64_t sender_pid() const;
  // Reads `bytes` at `address` in the sender into `out`; false when the
  // sender revoked its descriptors (it failed) or the read failed.
  bool read_remote(uint64_t address, std::span<std::byte> out) const;
  // Sender, on failure: no descriptor it published may be read any more.
  void revoke();
  // Sender: every entry it published has been released.
  bool all_released() const;

  // Sender: publishes the next entry, with `part` copied into its slot;
  // false when the receiver still holds every slot (a copy) or every entry
  // (a descriptor: remote_address set and no part).
  bool put(const SlotHeader& header, std::span<const std::byte> part);
  // Receiver: the oldest published entry (header, and the payload in its slot), or false.
  bool peek(SlotHeader& header, std::span<const std::byte>& part) const;
  // Receiver: gives the entry peek() returned (and its slot) back to the sender.
  void release();

  // Sleep until the receiver releases an entry / the sender publishes one, at
  // most until `until`; true when there is something to do.
  // `descriptor`: space for a descriptor, which needs an entry but no slot.
  bool wait_for_space(Clock::time_point until, bool descriptor) const;
  bool wait_for_release(Clock::time_point until) const;  // sender: until all_released()
  bool wait_for_data(Clock::time_point until) const;

 private:
  struct Segment;
  ShmLink(void* base, uint64_t bytes, int fd, uint32_t slots, uint64_t slot_bytes,
          uint32_t entries);
  Segment* seg() const;
  std::byte* entry(uint32_t index) const;  // index: the ring position, any uint32
  std::byte* slot(uint32_t index) const;
  uint32_t room(bool descriptor) const { return descriptor ? entries_ : slots_; }

  void* base_;
  uint64_t bytes_;
  int fd_;  // the memfd (receiver); -1 on the sender
  // The layout, kept here: the shared header is writable by the peer.
  uint32_t slots_;
  uint64_t slot_bytes_;
  uint32_t entries_;
  uint64_t probe_word_ = 0;  // sender: the cookie, read by the receiver's probe
};

}  // namespace ringmaster::comm
