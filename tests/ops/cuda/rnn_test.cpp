// rnn_layer on CUDA (cuDNN) against the CPU (oneDNN, itself tested against
// the double-precision oracle in tests/ops/rnn_test.cpp): tanh, LSTM and
// PyTorch's GRU, one and two directions, equal and per-sample lengths, with
// and without initial states, on odd sizes; y, h_n and c_n forward and every
// input's gradient. Outputs past a sample's length are exactly zero, as on
// the CPU; the ONNX GRU (reset gate before the matmul) is refused by name.
#include "ops/rnn.h"
#include "../op_test_util.h"
#include "../rnn_inputs.h"
#include "cuda_test_util.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/reshape.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32Gemm;

class CudaRnn : public testing::CudaTest {};

struct Case {
  RnnCell cell;
  int64_t D;
  std::vector<int64_t> lengths;  // empty: all T
  bool states;
  std::string name() const {
    const char* c = cell == RnnCell::kTanh ? "tanh" : cell == RnnCell::kLstm ? "lstm" : "gru";
    return std::string(c) + " D=" + std::to_string(D) +
           (lengths.empty() ? " equal lengths" : " lengths") + (states ? " with states" : "");
  }
};

constexpr int64_t T = 6, N = 3, I = 7, H = 5;

// y, h_n and c_n flattened into one output, so one comparison covers them all.
Tensor flat_outputs(const Case& c, const std::vector<Tensor>& in) {
  RnnParams p;
  p.cell = c.cell;
  p.lengths = c.lengths;
  const RnnOutputs o = rnn_layer(p, in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
  std::vector<Tensor> parts = {reshape(o.y, {-1}), reshape(o.h_n, {-1})};
  if (c.cell == RnnCell::kLstm) parts.push_back(reshape(o.c_n, {-1}));
  return concat(parts, 0);
}

std::vector<Tensor> inputs_of(const Case& c) {
  return testing::rnn_inputs(c.cell, c.D, T, N, I, H, c.states);
}

TEST_F(CudaRnn, MatchesTheCpu) {
  for (RnnCell cell : {RnnCell::kTanh, RnnCell::kLstm, RnnCell::kGru})
    for (int64_t D : {1, 2})
      for (bool ragged : {false, true}) {
        const Case c{cell, D, ragged ? std::vector<int64_t>{6, 2, 5} : std::vector<int64_t>{},
                     ragged};
        const std::vector<Tensor> in = inputs_of(c);
        std::vector<bool> grad;
        for (const Tensor& t : in) grad.push_back(t.defined());
        compare_with_cpu([&](const std::vector<Tensor>& t) { return flat_outputs(c, t); }, in, grad,
                         kTolF32Gemm, kTolF32Gemm, c.name());
      }
}

TEST_F(CudaRnn, OutputsPastALengthAreZero) {
  const Case c{RnnCell::kLstm, 2, {1, 6, 3}, false};
  std::vector<Tensor> in = inputs_of(c);
  for (Tensor& t : in)
    if (t.defined()) t = t.to(Device::cuda());
  RnnParams p;
  p.lengths = c.lengths;
  const Tensor y =
      rnn_layer(p, in[0], in[1], in[2], in[3], in[4], in[5], in[6]).y.to(Device::cpu());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = c.lengths[n]; t < T; ++t)
      for (int64_t k = 0; k < c.D * H; ++k)
        ASSERT_EQ(y.data<float>()[(t * N + n) * c.D * H + k], 0.0f)
            << "sample " << n << " step " << t;
}

TEST_F(CudaRnn, TheOnnxGruIsRefusedByName) {
  const Case c{RnnCell::kGru, 1, {}, false};
  std::vector<Tensor> in = inputs_of(c);
  for (Tensor& t : in)
    if (t.defined()) t = t.to(Device::cuda());
  RnnParams p;
  p.cell = RnnCell::kGru;
  p.linear_before_reset = false;
  try {
    rnn_layer(p, in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear_before_reset"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
