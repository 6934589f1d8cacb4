// MemfdSegment: what the owner writes the opener reads (two mappings of one
// memfd), the size is sealed against the opener, and open() refuses a wrong
// cookie, another file at the fd, and an fd that is not there.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "comm/memfd_segment.h"
#include "tests/test_dir.h"

namespace ringmaster::comm {
namespace {

TEST(MemfdSegment, TheOpenerSeesTheOwnersBytesAndCannotResizeIt) {
  auto owner = MemfdSegment::create("ringmaster-test", 1000);
  ASSERT_EQ(owner->data().size(), 1000u);
  std::string why;
  auto other = MemfdSegment::open(owner->offer(), why);
  ASSERT_NE(other, nullptr) << why;
  ASSERT_EQ(other->data().size(), 1000u);
  EXPECT_NE(other->data().data(), owner->data().data()) << "two mappings";
  std::memcpy(owner->data().data() + 990, "ten bytes!", 10);
  EXPECT_EQ(std::memcmp(other->data().data() + 990, "ten bytes!", 10), 0);
  other->data()[0] = std::byte{42};
  EXPECT_EQ(owner->data()[0], std::byte{42});

  // What the other side could do with the fd: neither shrink nor grow it.
  const MemfdOffer o = owner->offer();
  const std::string path = "/proc/" + std::to_string(o.pid) + "/fd/" + std::to_string(o.fd);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(o.bytes) * 2), -1);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1) << "the seals themselves are sealed";
  close(fd);
  owner->data()[999] = std::byte{7};  // the owner's mapping still works
  EXPECT_EQ(other->data()[999], std::byte{7});
}

TEST(MemfdSegment, OpenRefusesAWrongCookieAnotherFileAndAMissingFd) {
  auto owner = MemfdSegment::create("ringmaster-test", 64);
  std::string why;
  MemfdOffer wrong = owner->offer();
  wrong.cookie ^= 1;
  EXPECT_EQ(MemfdSegment::open(wrong, why), nullptr);
  EXPECT_NE(why.find("cookie"), std::string::npos) << why;

  MemfdOffer size = owner->offer();
  size.bytes += 1;
  EXPECT_EQ(MemfdSegment::open(size, why), nullptr);
  EXPECT_NE(why.find("size"), std::string::npos) << why;

  // A plain file of the right size at the fd: not a sealed memfd.
  const auto dir = testing_support::fresh_test_dir("memfd_segment");
  const auto file = dir / "plain";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(owner->offer().bytes)), 0);
  MemfdOffer plain = owner->offer();
  plain.fd = fd;
  EXPECT_EQ(MemfdSegment::open(plain, why), nullptr);
  EXPECT_NE(why.find("seals"), std::string::npos) << why;
  close(fd);
  std::filesystem::remove_all(dir);

  MemfdOffer gone = owner->offer();
  gone.fd = 1 << 20;
  EXPECT_EQ(MemfdSegment::open(gone, why), nullptr);
  EXPECT_NE(why.find("cannot open"), std::string::npos) << why;
  gone = owner->offer();
  gone.pid = 0;
  EXPECT_EQ(MemfdSegment::open(gone, why), nullptr);
}

}  // namespace
}  // namespace ringmaster::comm
