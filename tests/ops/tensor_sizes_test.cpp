// Sizes that come from outside: a shape whose element count overflows, or
// with a negative dimension, is an ops::Error naming it (never a wrapped-around
// allocation), and the host memory limit turns an allocation past it into an
// ops::Error naming the sizes, after which smaller ones work again.
#include <gtest/gtest.h>

#include <string>

#include "ops/check.h"
#include "ops/device_memory.h"
#include "ops/tensor.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

using testing_support::error_of;
constexpr const char* kNone = "no error";

TEST(TensorSizes, AnOverflowingShapeIsAnErrorNamingIt) {
  const int64_t big = int64_t{1} << 40;
  const std::string e = error_of([&] { shape_numel({big, big}); });
  EXPECT_NE(e.find("(1099511627776, 1099511627776)"), std::string::npos) << e;
  EXPECT_NE(e.find("more than 2^59 elements"), std::string::npos) << e;
  // Past int64 altogether, and past it only with the dtype's bytes.
  EXPECT_NE(error_of([&] { Tensor::empty({big, big, big}); }), kNone);
  EXPECT_NE(error_of([&] { Tensor::empty({int64_t{1} << 60}); }), kNone);
  EXPECT_NE(error_of([] { shape_numel({3, -2}); }).find("negative dimension"), std::string::npos);
  // A zero dimension makes any shape empty, overflow or not.
  EXPECT_EQ(shape_numel({big, big, 0}), 0);
  EXPECT_EQ(shape_numel({int64_t{1} << 29, int64_t{1} << 30}), int64_t{1} << 59);
}

TEST(TensorSizes, AnAllocationPastTheHostLimitIsAnError) {
  const size_t held = host_memory_in_use();
  set_host_memory_limit(held + (size_t{64} << 20));                       // 64 MiB more than now
  std::string e = error_of([] { Tensor::empty({int64_t{256} << 20}); });  // 1 GiB of f32
  EXPECT_NE(e.find("out of memory: 1.00 GiB more"), std::string::npos) << e;
  EXPECT_NE(e.find("would pass the"), std::string::npos) << e;
  // Within the limit: fine, and what was held is counted.
  {
    Tensor t = Tensor::zeros({int64_t{8} << 20});  // 32 MiB
    EXPECT_GE(host_memory_in_use(), held + (size_t{32} << 20));
    // Another 48 MiB on top would pass it.
    EXPECT_NE(error_of([] { Tensor::empty({int64_t{12} << 20}); }), kNone);
  }
  // Freed: the 48 MiB fit now.
  EXPECT_EQ(error_of([] { Tensor::empty({int64_t{12} << 20}); }), kNone);
  set_host_memory_limit(0);
  EXPECT_EQ(error_of([] { Tensor::empty({int64_t{256} << 20}); }), kNone);
}

}  // namespace
}  // namespace ringmaster::ops
