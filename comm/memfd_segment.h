// A memfd mapped by two processes of one user on one host (same_host_id() in
// shm_link.h): the owner creates it, the other opens it through
// /proc/PID/fd/FD. Nothing is ever left behind in /dev/shm: the memory goes
// with the last process that holds it, however that process exits. The
// owner seals the size (F_SEAL_SHRINK, F_SEAL_GROW), so the other side cannot
// truncate it under the owner's mapping, which would kill the owner with
// SIGBUS at its next access. The first 64 bytes hold a magic and a random
// cookie that the owner sends along with the offer; open() checks both, so a
// stale or mistaken pid/fd pair is refused instead of used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ringmaster::comm {

// The mechanism under MemfdSegment and ShmLink (shm_link.h), which lay out
// their own headers in the mapping:
// A new memfd of `bytes`, its size sealed, mapped shared read-write; `fd`
// gets its descriptor. Throws std::runtime_error naming the call that failed.
void* map_new_sealed_memfd(const char* name, uint64_t bytes, int& fd);
// Another process's memfd at /proc/PID/fd/FD, mapped shared read-write when
// it is sealed at `bytes` (never a file that happens to sit at that fd, nor
// one its owner could shrink under the mapping); nullptr with `why` otherwise.
void* map_offered_memfd(int64_t pid, int fd, uint64_t bytes, std::string& why);

struct MemfdOffer {
  int64_t pid = 0;
  int fd = -1;
  uint64_t cookie = 0;
  uint64_t bytes = 0;  // the whole mapping, header included
};

class MemfdSegment {
 public:
  static constexpr uint64_t kHeaderBytes = 64;

  // Owner: a sealed segment with `data_bytes` after the header. Throws
  // std::runtime_error when the system refuses (no memory, no fds).
  static std::unique_ptr<MemfdSegment> create(const char* name, uint64_t data_bytes);
  // The other process: maps what `offer` names; nullptr with `why` when it
  // cannot (no such fd, another file, another size, a wrong cookie).
  static std::unique_ptr<MemfdSegment> open(const MemfdOffer& offer, std::string& why);
  ~MemfdSegment();
  MemfdSegment(const MemfdSegment&) = delete;
  MemfdSegment& operator=(const MemfdSegment&) = delete;

  MemfdOffer offer() const;  // owner only (fd is -1 on the other side, or once closed)
  // Owner, once the other side has it mapped: the fd is no longer needed (the
  // mapping keeps the memory), and a process holds only so many.
  void close_fd();
  std::span<std::byte> data() const;

 private:
  MemfdSegment(void* base, uint64_t bytes, int fd, uint64_t cookie)
      : base_(base), bytes_(bytes), fd_(fd), cookie_(cookie) {}
  void* base_;
  uint64_t bytes_;
  int fd_;           // the owner's memfd; -1 on the other side
  uint64_t cookie_;  // kept here: the header is writable by the other side
};

}  // namespace ringmaster::comm
