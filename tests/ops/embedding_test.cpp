// embedding: forward against the reference on odd shapes (i64 and i32
// indices), backward against finite differences with repeated indices, the
// padding row's zero gradient, and an index outside the table named.
#include "ops/reference/embedding.h"

#include "op_test_util.h"
#include "ops/embedding.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

std::vector<int64_t> random_indices(int64_t n, int64_t rows) {
  std::uniform_int_distribution<int64_t> dist(0, rows - 1);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t& x : v) x = dist(testing::rng());
  return v;
}

Tensor index_tensor(const std::vector<int64_t>& v, const Shape& shape, DType dt) {
  return testing::int_tensor(v, dt, shape);
}

TEST(Embedding, ForwardMatchesReference) {
  for (DType dt : {DType::i64, DType::i32})
    for (const Shape& table : {Shape{1, 1}, Shape{7, 5}, Shape{13, 33}})
      for (const Shape& idx_shape : {Shape{1}, Shape{3, 4}, Shape{2, 3, 5}}) {
        Tensor w = random_tensor(table);
        const std::vector<int64_t> idx = random_indices(shape_numel(idx_shape), table[0]);
        Tensor y = embedding(w, index_tensor(idx, idx_shape, dt));
        Shape want = idx_shape;
        want.push_back(table[1]);
        EXPECT_EQ(y.shape(), want);
        expect_close(y, reference::embedding(reference::from_tensor(w), idx, idx_shape), 0.0,
                     "embedding " + shape_str(table) + " of " + shape_str(idx_shape));
      }
}

TEST(Embedding, BackwardMatchesFiniteDifferences) {
  const Shape idx_shape{4, 5};
  std::vector<int64_t> idx = random_indices(20, 6);
  idx[3] = idx[7] = idx[11] = 2;  // repeats: their gradients add up
  const Tensor indices = index_tensor(idx, idx_shape, DType::i64);
  check_gradients([&](const std::vector<Tensor>& in) { return embedding(in[0], indices); },
                  [&](const std::vector<reference::RefTensor>& in) {
                    return reference::embedding(in[0], idx, idx_shape);
                  },
                  {random_tensor({6, 3})}, {true});
}

TEST(Embedding, ThePaddingRowIsLookedUpButGetsNoGradient) {
  Tensor w = random_tensor({5, 4});
  w.set_requires_grad(true);
  const std::vector<int64_t> idx = {1, 0, 3, 0, 0, 4};
  Tensor y = embedding(w, index_tensor(idx, {2, 3}, DType::i32), /*padding_idx=*/0);
  expect_close(y, reference::embedding(reference::from_tensor(w), idx, {2, 3}), 0.0, "forward");
  Tensor dy = random_tensor(y.shape());
  y.backward(dy);
  const std::vector<float> g = w.grad().to_vector(), up = dy.to_vector();
  for (int64_t c = 0; c < 4; ++c) {
    EXPECT_EQ(g[static_cast<size_t>(c)], 0.0f) << "padding row, column " << c;
    EXPECT_EQ(g[static_cast<size_t>(2 * 4 + c)], 0.0f) << "row 2 is never looked up";
    EXPECT_FLOAT_EQ(g[static_cast<size_t>(1 * 4 + c)], up[static_cast<size_t>(c)]);
    EXPECT_FLOAT_EQ(g[static_cast<size_t>(4 * 4 + c)], up[static_cast<size_t>(5 * 4 + c)]);
  }
}

TEST(Embedding, AnIndexOutsideTheTableIsAnErrorNamingIt) {
  const Tensor w = random_tensor({10, 3});
  for (const auto& [bad, pos] : {std::pair<int64_t, int64_t>{10, 2}, {-1, 0}, {1000000, 5}}) {
    std::vector<int64_t> idx = {4, 5, 6, 7, 8, 9};
    idx[static_cast<size_t>(pos)] = bad;
    try {
      embedding(w, index_tensor(idx, {6}, DType::i64));
      ADD_FAILURE() << "index " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(
          std::string(e.what()).find("embedding: index " + std::to_string(bad) + " at position " +
                                     std::to_string(pos) + " is outside the table's rows [0, 10)"),
          std::string::npos)
          << e.what();
    }
  }
}

TEST(Embedding, NoIndicesGiveAnEmptyOutput) {
  Tensor y = embedding(random_tensor({4, 6}), Tensor::empty({0}, DType::i64));
  EXPECT_EQ(y.shape(), (Shape{0, 6}));
}

}  // namespace
}  // namespace ringmaster::ops
