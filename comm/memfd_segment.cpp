// MemfdSegment (see header): create, seal, map; open through /proc/PID/fd.
#include "comm/memfd_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ringmaster::comm {
namespace {

constexpr uint64_t kMagic = 0x3130474553444d52ull;  // "RMDSEG01", little-endian

struct Header {
  uint64_t magic;
  uint64_t cookie;
};

std::runtime_error system_error(const char* name, const std::string& what, int e) {
  return std::runtime_error(std::string("memfd ") + name + ": " + what + ": " + std::strerror(e));
}

}  // namespace

void* map_new_sealed_memfd(const char* name, uint64_t bytes, int& fd) {
  fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw system_error(name, "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const int e = errno;
    close(fd);
    throw system_error(name, "size and seal", e);
  }
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    const int e = errno;
    close(fd);
    throw system_error(name, "mmap", e);
  }
  return base;
}

void* map_offered_memfd(int64_t pid, int fd, uint64_t bytes, std::string& why) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  const int own = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (own < 0) {
    why = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  const int seals = fcntl(own, F_GET_SEALS);
  if (fstat(own, &st) != 0 || static_cast<uint64_t>(st.st_size) != bytes || seals < 0 ||
      (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
    close(own);
    why = path + " is not the offered segment (size or seals)";
    return nullptr;
  }
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, own, 0);
  close(own);
  if (base == MAP_FAILED) {
    why = "cannot map " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return base;
}

std::unique_ptr<MemfdSegment> MemfdSegment::create(const char* name, uint64_t data_bytes) {
  if (data_bytes > (uint64_t{1} << 40)) throw std::runtime_error("memfd segment: too large");
  const uint64_t bytes = kHeaderBytes + data_bytes;
  int fd = -1;
  void* base = map_new_sealed_memfd(name, bytes, fd);
  std::random_device rd;
  const uint64_t cookie = (uint64_t{rd()} << 32) ^ rd();
  auto* h = static_cast<Header*>(base);
  h->magic = kMagic;
  h->cookie = cookie;
  return std::unique_ptr<MemfdSegment>(new MemfdSegment(base, bytes, fd, cookie));
}

std::unique_ptr<MemfdSegment> MemfdSegment::open(const MemfdOffer& offer, std::string& why) {
  if (offer.pid <= 0 || offer.fd < 0 || offer.bytes <= kHeaderBytes) {
    why = "not a segment offer (pid " + std::to_string(offer.pid) + ", fd " +
          std::to_string(offer.fd) + ", " + std::to_string(offer.bytes) + " bytes)";
    return nullptr;
  }
  void* base = map_offered_memfd(offer.pid, offer.fd, offer.bytes, why);
  if (base == nullptr) return nullptr;
  std::unique_ptr<MemfdSegment> seg(new MemfdSegment(base, offer.bytes, -1, offer.cookie));
  const auto* h = static_cast<const Header*>(base);
  if (h->magic != kMagic || h->cookie != offer.cookie) {
    why = "/proc/" + std::to_string(offer.pid) + "/fd/" + std::to_string(offer.fd) +
          " is not the offered segment (magic or cookie)";
    return nullptr;
  }
  return seg;
}

MemfdSegment::~MemfdSegment() {
  munmap(base_, bytes_);
  if (fd_ >= 0) close(fd_);
}

void MemfdSegment::close_fd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

MemfdOffer MemfdSegment::offer() const {
  return {static_cast<int64_t>(getpid()), fd_, cookie_, bytes_};
}

std::span<std::byte> MemfdSegment::data() const {
  return {static_cast<std::byte*>(base_) + kHeaderBytes, bytes_ - kHeaderBytes};
}

}  // namespace ringmaster::comm
