// ShmLink (see shm_link.h): a memfd holding a header page and a ring of
// slots; head (slots published) is written only by the sender, tail (slots
// released) only by the receiver, each waited on with FUTEX_WAIT and woken
// with FUTEX_WAKE (not FUTEX_PRIVATE: the two processes share the page).
#include "comm/shm_link.h"
#include "comm/memfd_segment.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace ringmaster::comm {

struct ShmLink::Segment {
  static constexpr uint64_t kMagic = 0x32304d4853524d52ull;  // "RMRSHM02"
  uint64_t magic = kMagic;
  uint64_t cookie = 0;
  uint64_t slot_bytes = 0;
  uint32_t slots = 0;
  uint32_t entries = 0;
  alignas(64) std::atomic<uint32_t> head{0};
  alignas(64) std::atomic<uint32_t> tail{0};
  alignas(64) std::atomic<uint32_t> attached{0};
  // Written by the sender before `attached`: its pid and its probe word's address.
  int64_t sender_pid = 0;
  uint64_t probe_address = 0;
  alignas(64) std::atomic<uint32_t> cma{0};      // receiver's probe: 0 not yet, 1 may read, 2 not
  alignas(64) std::atomic<uint32_t> revoked{0};  // sender failed: descriptors are stale
};

namespace {

static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be plain words");
// Layout: the Segment alone on its page, `entries` entries of kEntryBytes
// (a SlotHeader each), then `slots` payload slots of stride(slot_bytes).
constexpr uint64_t kHeaderBytes = 4096;
constexpr uint64_t kEntryBytes = 128;
static_assert(sizeof(ShmLink::SlotHeader) <= kEntryBytes, "slot header too large");

uint64_t stride(uint64_t slot_bytes) { return (slot_bytes + 63) / 64 * 64; }
uint64_t segment_bytes(uint32_t slots, uint64_t slot_bytes, uint32_t entries) {
  return kHeaderBytes + uint64_t{entries} * kEntryBytes + uint64_t{slots} * stride(slot_bytes);
}

long futex(const std::atomic<uint32_t>& word, int op, uint32_t value, const timespec* timeout) {
  auto* addr = const_cast<uint32_t*>(reinterpret_cast<const uint32_t*>(&word));
  return syscall(SYS_futex, addr, op, value, timeout, nullptr, 0);
}

void wake(std::atomic<uint32_t>& word) { futex(word, FUTEX_WAKE, INT_MAX, nullptr); }

// Sleeps while `word` still holds `seen`, at most until `until`.
void sleep_while(const std::atomic<uint32_t>& word, uint32_t seen,
                 std::chrono::steady_clock::time_point until) {
  const auto left = until - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  futex(word, FUTEX_WAIT, seen, &ts);  // EAGAIN (changed), EINTR, ETIMEDOUT: the caller looks
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::string same_host_id() {
  const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
  char ns[128];
  const ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (boot.empty() || n <= 0) return "";
  return boot + ":" + std::string(ns, static_cast<size_t>(n)) + ":" + std::to_string(getuid());
}

std::string ShmOffer::encode() const {
  std::ostringstream os;
  os << "shm " << pid << ' ' << fd << ' ' << cookie << ' ' << bytes;
  return os.str();
}

bool ShmOffer::decode(const std::byte* data, size_t size, ShmOffer& out) {
  if (size > 200) return false;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string tag;
  ShmOffer o;
  if (!(in >> tag >> o.pid >> o.fd >> o.cookie >> o.bytes) || tag != "shm") return false;
  std::string rest;
  if (in >> rest) return false;
  if (o.pid <= 0 || o.fd < 0 || o.bytes <= kHeaderBytes) return false;
  out = o;
  return true;
}

ShmLink::ShmLink(void* base, uint64_t bytes, int fd, uint32_t slots, uint64_t slot_bytes,
                 uint32_t entries)
    : base_(base),
      bytes_(bytes),
      fd_(fd),
      slots_(slots),
      slot_bytes_(slot_bytes),
      entries_(entries) {}

ShmLink::~ShmLink() {
  munmap(base_, bytes_);
  if (fd_ >= 0) close(fd_);
}

ShmLink::Segment* ShmLink::seg() const { return static_cast<Segment*>(base_); }

std::byte* ShmLink::entry(uint32_t index) const {
  return static_cast<std::byte*>(base_) + kHeaderBytes + uint64_t{index % entries_} * kEntryBytes;
}

std::byte* ShmLink::slot(uint32_t index) const {
  return static_cast<std::byte*>(base_) + kHeaderBytes + uint64_t{entries_} * kEntryBytes +
         uint64_t{index % slots_} * stride(slot_bytes_);
}

std::unique_ptr<ShmLink> ShmLink::create(uint32_t slots, uint64_t slot_bytes) {
  if (slots == 0 || slot_bytes == 0) throw std::invalid_argument("shm link: no slots");
  // A power of two, so that ring positions stay consecutive when they wrap.
  const uint32_t entries = std::bit_ceil(std::max(slots, kMinEntries));
  const uint64_t bytes = segment_bytes(slots, slot_bytes, entries);
  // Sealed at its size: the sender cannot truncate it under our mapping
  // (our next access would be a SIGBUS).
  int fd = -1;
  void* base = map_new_sealed_memfd("ringmaster-ring-link", bytes, fd);
  auto* s = new (base) Segment();
  std::random_device rd;
  s->cookie = (uint64_t{rd()} << 32) ^ rd();
  s->slot_bytes = slot_bytes;
  s->slots = slots;
  s->entries = entries;
  return std::unique_ptr<ShmLink>(new ShmLink(base, bytes, fd, slots, slot_bytes, entries));
}

std::unique_ptr<ShmLink> ShmLink::attach(const ShmOffer& offer, std::string& why) {
  const std::string path = "/proc/" + std::to_string(offer.pid) + "/fd/" + std::to_string(offer.fd);
  void* base = map_offered_memfd(offer.pid, offer.fd, offer.bytes, why);
  if (base == nullptr) return nullptr;
  const auto* s = static_cast<const Segment*>(base);
  const uint32_t slots = s->slots, entries = s->entries;
  const uint64_t slot_bytes = s->slot_bytes;
  std::unique_ptr<ShmLink> link(new ShmLink(base, offer.bytes, -1, slots, slot_bytes, entries));
  // Each term bounded by the mapping before the sum: a layout the segment's
  // header makes up cannot overflow past the check into writes beyond it.
  if (s->magic != Segment::kMagic || s->cookie != offer.cookie || slots == 0 || slot_bytes == 0 ||
      entries < slots || slot_bytes > offer.bytes || entries > offer.bytes / kEntryBytes ||
      slots > offer.bytes / stride(slot_bytes) ||
      segment_bytes(slots, slot_bytes, entries) != offer.bytes) {
    why = path + " is not the offered segment (magic, cookie or layout)";
    return nullptr;
  }
  return link;
}

ShmOffer ShmLink::offer() const {
  return {static_cast<int64_t>(getpid()), fd_, seg()->cookie, bytes_};
}

uint64_t ShmLink::slot_bytes() const { return slot_bytes_; }

void ShmLink::mark_attached() {
  probe_word_ = seg()->cookie;
  seg()->sender_pid = static_cast<int64_t>(getpid());
  seg()->probe_address = reinterpret_cast<uint64_t>(&probe_word_);
  seg()->attached.store(1, std::memory_order_release);
  wake(seg()->head);  // a receiver may be waiting for data: let it look
}

bool ShmLink::attached() const { return seg()->attached.load(std::memory_order_acquire) != 0; }

int64_t ShmLink::sender_pid() const { return seg()->sender_pid; }

bool ShmLink::probe_peer() {
  Segment& s = *seg();
  uint64_t word = 0;
  iovec local{&word, sizeof word};
  iovec remote{reinterpret_cast<void*>(s.probe_address), sizeof word};
  const bool ok = s.sender_pid > 0 &&
                  process_vm_readv(static_cast<pid_t>(s.sender_pid), &local, 1, &remote, 1, 0) ==
                      static_cast<ssize_t>(sizeof word) &&
                  word == s.cookie;
  s.cma.store(ok ? 1 : 2, std::memory_order_release);
  return ok;
}

bool ShmLink::peer_reads_memory() const { return seg()->cma.load(std::memory_order_acquire) == 1; }

bool ShmLink::read_remote(uint64_t address, std::span<std::byte> out) const {
  const Segment& s = *seg();
  size_t done = 0;
  while (done < out.size()) {  // one call may read less than asked (at most IOV_MAX pages' worth)
    iovec local{out.data() + done, out.size() - done};
    iovec remote{reinterpret_cast<void*>(address + done), out.size() - done};
    const ssize_t n = process_vm_readv(static_cast<pid_t>(s.sender_pid), &local, 1, &remote, 1, 0);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  // Read after the copy: a sender that failed (and whose caller may have
  // reused the buffer) set it before returning, so a clear flag here means
  // the whole copy happened while the buffer was still the chunk.
  return s.revoked.load(std::memory_order_seq_cst) == 0;
}

void ShmLink::revoke() { seg()->revoked.store(1, std::memory_order_seq_cst); }

bool ShmLink::all_released() const {
  const Segment& s = *seg();
  return s.head.load(std::memory_order_relaxed) == s.tail.load(std::memory_order_acquire);
}

bool ShmLink::put(const SlotHeader& header, std::span<const std::byte> part) {
  Segment& s = *seg();
  const uint32_t head = s.head.load(std::memory_order_relaxed);  // ours alone
  // A copy's slot is free once every entry before `head` that used it was
  // released: fewer than slots_ are held. A descriptor only needs its entry.
  const bool descriptor = header.remote_address != 0 && part.empty();
  if (head - s.tail.load(std::memory_order_acquire) >= room(descriptor)) return false;
  std::memcpy(entry(head), &header, sizeof header);
  if (!part.empty()) std::memcpy(slot(head), part.data(), part.size());
  s.head.store(head + 1, std::memory_order_release);
  wake(s.head);
  return true;
}

bool ShmLink::peek(SlotHeader& header, std::span<const std::byte>& part) const {
  const Segment& s = *seg();
  const uint32_t tail = s.tail.load(std::memory_order_relaxed);  // ours alone
  if (s.head.load(std::memory_order_acquire) == tail) return false;
  std::memcpy(&header, entry(tail), sizeof header);
  // The sender wrote the header; a size beyond the slot is a corrupt segment,
  // cut to the slot here and rejected by the caller's check against it.
  const uint64_t n = std::min<uint64_t>(header.part_bytes, slot_bytes_);
  part = {slot(tail), static_cast<size_t>(n)};
  return true;
}

void ShmLink::release() {
  Segment& s = *seg();
  s.tail.store(s.tail.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  wake(s.tail);
}

bool ShmLink::wait_for_space(Clock::time_point until, bool descriptor) const {
  const Segment& s = *seg();
  const uint32_t tail = s.tail.load(std::memory_order_acquire);
  if (s.head.load(std::memory_order_relaxed) - tail < room(descriptor)) return true;
  sleep_while(s.tail, tail, until);
  return s.head.load(std::memory_order_relaxed) - s.tail.load(std::memory_order_acquire) <
         room(descriptor);
}

bool ShmLink::wait_for_release(Clock::time_point until) const {
  const Segment& s = *seg();
  const uint32_t tail = s.tail.load(std::memory_order_acquire);
  if (s.head.load(std::memory_order_relaxed) == tail) return true;
  sleep_while(s.tail, tail, until);
  return all_released();
}

bool ShmLink::wait_for_data(Clock::time_point until) const {
  const Segment& s = *seg();
  const uint32_t head = s.head.load(std::memory_order_acquire);
  if (head != s.tail.load(std::memory_order_relaxed)) return true;
  sleep_while(s.head, head, until);
  return s.head.load(std::memory_order_acquire) != s.tail.load(std::memory_order_relaxed);
}

}  // namespace ringmaster::comm
