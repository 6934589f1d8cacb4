// PrimitiveCache: one make per key while cached; a bounded cache drops the
// least recently used entry past its capacity, and an entry a caller holds
// outlives its eviction; an unbounded one keeps everything.
#include "ops/cpu/primitive_cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ringmaster::ops::cpu {
namespace {

// "k<i>" (snprintf: GCC 12 warns wrongly on "k" + std::to_string(i)).
std::string numbered(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%d", i);
  return buf;
}

struct Made {
  std::string name;
};

class Counting {
 public:
  explicit Counting(size_t capacity) : cache_(capacity) {}
  std::shared_ptr<const Made> get(const std::string& name) {
    CacheKey key;
    for (char c : name) key.add(c);
    return cache_.get(key, [&] {
      ++makes;
      return Made{name};
    });
  }
  size_t size() const { return cache_.size(); }
  int makes = 0;

 private:
  PrimitiveCache<Made> cache_;
};

TEST(PrimitiveCache, MakesEachKeyOnceWhileItIsCached) {
  Counting c(0);
  EXPECT_EQ(c.get("a")->name, "a");
  EXPECT_EQ(c.get("b")->name, "b");
  EXPECT_EQ(c.get("a").get(), c.get("a").get());
  EXPECT_EQ(c.makes, 2);
  for (int i = 0; i < 100; ++i) c.get(numbered(i));
  EXPECT_EQ(c.size(), 102u);  // unbounded
}

TEST(PrimitiveCache, ABoundedCacheDropsTheLeastRecentlyUsed) {
  Counting c(2);
  c.get("a");
  const std::shared_ptr<const Made> b = c.get("b");
  c.get("a");  // a is now more recent than b
  c.get("c");  // drops b
  EXPECT_EQ(c.makes, 3);
  EXPECT_EQ(c.size(), 2u);
  c.get("a");
  c.get("c");
  EXPECT_EQ(c.makes, 3);                 // both still cached
  EXPECT_EQ(b->name, "b");               // held past its eviction
  EXPECT_NE(c.get("b").get(), b.get());  // made again
  EXPECT_EQ(c.makes, 4);
  for (int i = 0; i < 50; ++i) c.get(numbered(i));
  EXPECT_EQ(c.size(), 2u);
}

}  // namespace
}  // namespace ringmaster::ops::cpu
