// time_major_tokens: rows (N, L) read step-major from a first column; bad
// shapes and dtypes are refused.
#include "models/time_major.h"

#include <gtest/gtest.h>

#include "ops/check.h"

namespace ringmaster::models {
namespace {

ops::Tensor rows(int64_t n, int64_t l) {
  ops::Tensor x = ops::Tensor::empty({n, l}, ops::DType::i64);
  for (int64_t i = 0; i < n * l; ++i) x.data<int64_t>()[i] = 10 * (i / l) + i % l;  // 10 row + col
  return x;
}

TEST(TimeMajorTokens, StepSOfSequenceIIsRowIColumnFirstPlusS) {
  for (int64_t first : {0, 1, 4}) {
    const ops::Tensor t = time_major_tokens(rows(3, 5), first);
    ASSERT_EQ(t.shape(), (ops::Shape{5 - first, 3}));
    for (int64_t s = 0; s < 5 - first; ++s)
      for (int64_t i = 0; i < 3; ++i)
        EXPECT_EQ(t.data<int64_t>()[s * 3 + i], 10 * i + first + s) << s << ", " << i;
  }
}

TEST(TimeMajorTokens, RefusesWhatIsNotTokenRows) {
  EXPECT_THROW(time_major_tokens(rows(2, 3), 3), ops::Error);
  EXPECT_THROW(time_major_tokens(ops::Tensor::zeros({2, 3})), ops::Error);  // f32
  EXPECT_THROW(time_major_tokens(ops::Tensor::empty({2, 3, 1}, ops::DType::i64)), ops::Error);
  EXPECT_THROW(time_major_tokens(ops::Tensor()), ops::Error);
}

}  // namespace
}  // namespace ringmaster::models
