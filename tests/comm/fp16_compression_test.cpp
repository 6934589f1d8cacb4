// FP16 wire compression against ops/half.h's scalar conversion (the oracle):
// the scale keeps max|x| * scale in [2^14, 2^15); compress / decompress
// agree with the scalar path on odd lengths and unaligned wire buffers; the
// residual is exactly what the rounding lost; decompress_add accumulates.
#include "comm/fp16_compression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "ops/half.h"

namespace ringmaster::comm {
namespace {

TEST(Fp16Compression, ScaleIsAPowerOfTwoPuttingMaxAbsIn2To14To2To15) {
  for (float m : {1e-30f, 3e-5f, 0.01f, 1.0f, 1.5f, 16384.0f, 65504.0f, 1e30f}) {
    const std::vector<float> x = {0.5f * m, -m, 0.25f * m};
    const float s = fp16_scale(x);
    int e;
    EXPECT_EQ(std::frexp(s, &e), 0.5f) << "power of two";
    EXPECT_GE(m * s, 16384.0f) << m;
    EXPECT_LT(m * s, 32768.0f) << m;
  }
  EXPECT_EQ(fp16_scale(std::vector<float>{0.0f, -0.0f}), 1.0f);
  EXPECT_EQ(fp16_scale(std::vector<float>{}), 1.0f);
  EXPECT_EQ(fp16_scale(std::vector<float>{1.0f, std::numeric_limits<float>::infinity()}), 1.0f);
}

TEST(Fp16Compression, MatchesTheScalarOracleWithExactResiduals) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1001}}) {
    std::vector<float> x(n);
    for (auto& v : x) v = dist(gen);
    const float s = fp16_scale(x);
    std::vector<char> wire(2 * n + 1);  // +1: an odd, unaligned wire pointer
    std::vector<float> residual(n), y(n), acc(n, 1.0f);
    fp16_compress(x, s, wire.data() + 1, residual.data());
    fp16_decompress(wire.data() + 1, s, y);
    fp16_decompress_add(wire.data() + 1, s, acc);
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, wire.data() + 1 + 2 * i, 2);
      ASSERT_EQ(h, ops::float_to_half_scalar(x[i] * s)) << i;
      ASSERT_EQ(y[i], ops::half_to_float_scalar(h) / s) << i;
      ASSERT_EQ(residual[i], x[i] - y[i]) << i;
      ASSERT_LE(std::fabs(residual[i]), 0x1p-11 * 3.0f) << i;
      ASSERT_EQ(acc[i], 1.0f + y[i]) << i;
    }
  }
}

TEST(Fp16Compression, ANonFiniteOrOverflowingValueLeavesAZeroResidual) {
  // Both paths: 8-wide (AVX/F16C) for the first 16, scalar for the tail.
  std::vector<float> x(19, 0.25f);
  x[2] = INFINITY;
  x[9] = NAN;
  x[17] = -1e30f;  // beyond half's range at scale 1
  x[18] = -INFINITY;
  std::vector<uint16_t> wire(x.size());
  std::vector<float> residual(x.size(), 7.0f);
  fp16_compress(x, 1.0f, wire.data(), residual.data());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_TRUE(std::isfinite(residual[i])) << i;
    if (i == 2 || i == 9 || i == 17 || i == 18)
      EXPECT_EQ(residual[i], 0.0f) << i;
    else
      EXPECT_EQ(residual[i], 0.0f) << i << " (0.25 is exact in half)";
  }
}

TEST(Fp16Compression, ErrorFeedbackKeepsOneResidualPerBucket) {
  ErrorFeedback ef;
  auto a = ef.residual(1, 4);
  a[0] = 5.0f;
  EXPECT_EQ(ef.residual(1, 4)[0], 5.0f);
  EXPECT_EQ(ef.residual(2, 4)[0], 0.0f);
  EXPECT_EQ(ef.residual(1, 6)[0], 0.0f) << "a resized bucket starts from zero";
}

}  // namespace
}  // namespace ringmaster::comm
