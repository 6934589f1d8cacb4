// sequence_cross_entropy: forward against the reference on odd shapes with
// pads (pad index 0, and -100 as PyTorch's default), backward against finite
// differences (pads get a zero gradient), i32 targets, and the errors: a
// target outside the vocabulary named by position, and all pads.
#include "ops/reference/sequence_cross_entropy.h"

#include "op_test_util.h"
#include "ops/sequence_cross_entropy.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::int_tensor;
using testing::random_tensor;

// Random targets in [0, vocab) with about a third of them `pad`, the first
// never a pad (so some count).
std::vector<int64_t> targets_with_pads(int64_t n, int64_t vocab, int64_t pad) {
  std::uniform_int_distribution<int64_t> token(0, vocab - 1), third(0, 2);
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (size_t i = 0; i < t.size(); ++i) {
    t[i] = token(testing::rng());
    if (i > 0 && third(testing::rng()) == 0) t[i] = pad;
    if (i == 0 && t[i] == pad) t[i] = (pad + 1) % vocab;
  }
  return t;
}

TEST(SequenceCrossEntropy, ForwardMatchesReference) {
  for (int64_t pad : {int64_t{0}, int64_t{-100}})
    for (const Shape& s : {Shape{1, 1, 3}, Shape{2, 5, 7}, Shape{3, 4, 11}, Shape{6, 13}})
      for (DType dt : {DType::i64, DType::i32}) {
        const Shape lead(s.begin(), s.end() - 1);
        const std::vector<int64_t> t = targets_with_pads(shape_numel(lead), s.back(), pad);
        const Tensor x = random_tensor(s, -4.0f, 4.0f);
        expect_close(sequence_cross_entropy(x, int_tensor(t, dt, lead), pad),
                     reference::sequence_cross_entropy(reference::from_tensor(x), t, pad), 1e-5,
                     "logits " + shape_str(s) + ", pad " + std::to_string(pad));
      }
}

TEST(SequenceCrossEntropy, BackwardMatchesFiniteDifferencesAndPadsGetNone) {
  const Shape s{3, 4, 6}, lead{3, 4};
  std::vector<int64_t> t = targets_with_pads(12, 6, 0);
  t[5] = t[9] = 0;  // pads for sure
  const Tensor targets = int_tensor(t, DType::i64, lead);
  const Tensor x0 = random_tensor(s, -2.0f, 2.0f);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return sequence_cross_entropy(in[0], targets, 0); },
      [&](const std::vector<reference::RefTensor>& in) {
        return reference::sequence_cross_entropy(in[0], t, 0);
      },
      {x0}, {true});
  Tensor x = x0.clone();
  x.set_requires_grad(true);
  sequence_cross_entropy(x, targets, 0).backward();
  const std::vector<float> g = x.grad().to_vector();
  for (int64_t row : {5, 9})
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(g[static_cast<size_t>(row * 6 + j)], 0.0f) << row;
}

TEST(SequenceCrossEntropy, ABadTargetOrOnlyPadsIsAnErrorNamingIt) {
  const Tensor x = random_tensor({2, 3, 5});
  try {
    sequence_cross_entropy(x, int_tensor({1, 2, 0, 5, 0, 0}, DType::i64, {2, 3}), 0);
    ADD_FAILURE() << "target 5 of a vocabulary of 5 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target 5 at position 3 is outside [0, 5)"),
              std::string::npos)
        << e.what();
  }
  try {
    sequence_cross_entropy(x, int_tensor({0, 0, 0, 0, 0, 0}, DType::i32, {2, 3}), 0);
    ADD_FAILURE() << "all pads were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all 6 targets are the pad index 0"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
