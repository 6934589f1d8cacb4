// embedding on CUDA against the CPU: forward and backward (atomic adds, so
// the gradient within f32 rounding), i32 and i64 indices, the padding row,
// and an index outside the table throwing the CPU's message.
#include "ops/embedding.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/check.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaEmbedding : public testing::CudaTest {};

Tensor indices(const std::vector<int64_t>& v, DType dt) { return testing::int_tensor(v, dt); }

TEST_F(CudaEmbedding, MatchesTheCpu) {
  std::vector<int64_t> v(97);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>((i * 7 + 3) % 13);
  for (DType dt : {DType::i64, DType::i32})
    for (int64_t padding : {int64_t{-1}, int64_t{3}}) {
      const Tensor idx = indices(v, dt);
      compare_with_cpu(
          [&](const std::vector<Tensor>& in) {
            return embedding(in[0], in[0].device().is_cuda() ? idx.to(in[0].device()) : idx,
                             padding);
          },
          {random_tensor({13, 37})}, {true}, 0.0, kTolF32,
          std::string("indices ") + dtype_name(dt) + ", padding " + std::to_string(padding));
    }
}

TEST_F(CudaEmbedding, AnIndexOutsideTheTableThrowsTheCpuMessage) {
  const Tensor w = random_tensor({10, 3}).to(Device::cuda());
  try {
    embedding(w, indices({1, 2, 10, 3}, DType::i32).to(Device::cuda()));
    ADD_FAILURE() << "index 10 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("embedding: index 10 at position 2 is outside"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
