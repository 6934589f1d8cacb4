// The host caching allocator hands a freed block out again for a request of
// the same rounded size: exactly the same size up to 1 MiB, and any size
// within the same eighth of a power of two past it (sizes that move a little
// between steps reuse memory); a block of another size class is not reused.
#include <gtest/gtest.h>

#include <algorithm>

#include "ops/cpu/caching_allocator.h"

namespace ringmaster::ops::cpu {
namespace {

TEST(CachingAllocator, AFreedBlockServesTheNextRequestOfItsSize) {
  const size_t size = 1000;
  void* a = host_alloc(size);
  host_free(a, size);
  void* b = host_alloc(size);
  EXPECT_EQ(a, b);
  host_free(b, size);
}

TEST(CachingAllocator, LargeSizesWithinOneEighthOfAPowerOfTwoShareBlocks) {
  const size_t mib = size_t{1} << 20;
  const size_t base = 40 * mib;  // the class of 40 MiB runs from 36 to 40 MiB
  void* a = host_alloc(base - 3 * mib);
  std::fill_n(static_cast<char*>(a), base - 3 * mib, 1);
  host_free(a, base - 3 * mib);
  void* b = host_alloc(base - 100);  // a few RoIs more: the same block
  EXPECT_EQ(a, b);
  std::fill_n(static_cast<char*>(b), base - 100, 2);  // and all of it is usable
  host_free(b, base - 100);
  void* c = host_alloc(base + 100);  // the next class: not the same block
  EXPECT_NE(b, c);
  host_free(c, base + 100);
}

TEST(CachingAllocator, InUseCountsWhatIsHeldNotWhatIsCached) {
  const size_t before = host_in_use();
  void* a = host_alloc(5 << 20);
  EXPECT_GE(host_in_use(), before + (5 << 20));
  EXPECT_LE(host_in_use(), before + (5 << 20) + (5 << 20) / 8);
  host_free(a, 5 << 20);
  EXPECT_EQ(host_in_use(), before);
}

}  // namespace
}  // namespace ringmaster::ops::cpu
