// f32 <-> f16: the F16C path against the bit-exact scalar conversion, every
// one of the 65,536 half values round-trips, and rounding is to nearest even.
#include <cmath>
#include <cstring>

#include "op_test_util.h"
#include "ops/half.h"

namespace ringmaster::ops {
namespace {

TEST(Half, EveryHalfRoundTrips) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> f(all.size());
  half_to_float(all.data(), f.data(), static_cast<int64_t>(all.size()));
  std::vector<uint16_t> back(all.size());
  float_to_half(f.data(), back.data(), static_cast<int64_t>(f.size()));
  for (uint32_t i = 0; i < 65536; ++i) {
    const bool nan = ((i >> 10) & 0x1f) == 0x1f && (i & 0x3ff) != 0;
    if (nan) {
      EXPECT_TRUE(std::isnan(f[i])) << i;
      continue;
    }
    ASSERT_EQ(back[i], all[i]) << "half 0x" << std::hex << i;
    ASSERT_EQ(half_to_float_scalar(all[i]), f[i]) << "half 0x" << std::hex << i;
  }
}

TEST(Half, VectorPathMatchesScalarOnRandomFloats) {
  std::vector<float> x(1003);
  std::uniform_real_distribution<float> mag(-30.0f, 20.0f);
  for (float& v : x)
    v = std::ldexp(mag(testing::rng()) > 0 ? 1.0f : -1.0f, 0) * std::exp2(mag(testing::rng()));
  std::vector<uint16_t> h(x.size());
  float_to_half(x.data(), h.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(h[i], float_to_half_scalar(x[i])) << x[i];
}

TEST(Half, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to even (1).
  EXPECT_EQ(float_to_half_scalar(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): rounds up.
  EXPECT_EQ(float_to_half_scalar(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half_scalar(65520.0f), 0x7c00);  // overflows to inf
  EXPECT_EQ(float_to_half_scalar(65504.0f), 0x7bff);  // largest finite half
}

}  // namespace
}  // namespace ringmaster::ops
