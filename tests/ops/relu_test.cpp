// relu: forward against the reference, backward against finite differences.
#include "ops/reference/relu.h"

#include "op_test_util.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

TEST(Relu, ForwardMatchesReference) {
  for (const Shape& s : {Shape{1}, Shape{7}, Shape{1, 3, 5, 7}, Shape{4, 17, 9, 2}}) {
    Tensor x = random_tensor(s);
    expect_close(relu(x), reference::relu(reference::from_tensor(x)), 1e-6, "relu " + shape_str(s));
  }
}

TEST(Relu, BackwardMatchesFiniteDifferences) {
  // Keep inputs away from the kink at 0, where the derivative is undefined.
  Tensor x = random_tensor({2, 3, 5, 3}, 0.05f, 1.0f);
  std::vector<float> v = x.to_vector();
  for (size_t i = 0; i < v.size(); i += 2) v[i] = -v[i];
  x = Tensor::from_vector(v, x.shape());
  check_gradients(
      [](const std::vector<Tensor>& in) { return relu(in[0]); },
      [](const std::vector<reference::RefTensor>& in) { return reference::relu(in[0]); }, {x},
      {true});
}

}  // namespace
}  // namespace ringmaster::ops
