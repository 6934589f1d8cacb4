// rnn_layer (oneDNN's RNN primitives) against the double-precision oracle
// ops/reference/rnn.h: forward for every cell (tanh, LSTM, GRU with the reset
// gate after and before the hidden matmul), one and two directions, initial
// states given or not, equal and per-sample lengths, on odd sizes; backward
// of y, h_n and c_n together against central differences of the oracle.
#include "ops/rnn.h"

#include <gtest/gtest.h>

#include <string>

#include "op_test_util.h"
#include "ops/concat.h"
#include "ops/reference/rnn.h"
#include "ops/reshape.h"
#include "rnn_inputs.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;

struct Case {
  RnnCell cell;
  bool lbr;
  int64_t D;
  std::vector<int64_t> lengths;  // empty: all T
  bool states;                   // h0 (and c0) given
  std::string name() const {
    const char* c = cell == RnnCell::kTanh ? "tanh" : cell == RnnCell::kLstm ? "lstm" : "gru";
    return std::string(c) + (cell == RnnCell::kGru ? (lbr ? "-lbr" : "-onnx") : "") +
           " D=" + std::to_string(D) + (lengths.empty() ? " equal lengths" : " lengths") +
           (states ? " with states" : "");
  }
};

constexpr int64_t T = 5, N = 3, I = 7, H = 5;

std::vector<Case> cases() {
  std::vector<Case> out;
  for (RnnCell cell : {RnnCell::kTanh, RnnCell::kLstm, RnnCell::kGru})
    for (bool lbr : {true, false}) {
      if (cell != RnnCell::kGru && !lbr) continue;
      for (int64_t D : {1, 2})
        for (bool ragged : {false, true})
          out.push_back({cell, lbr, D,
                         ragged ? std::vector<int64_t>{5, 2, 4} : std::vector<int64_t>{}, ragged});
    }
  return out;
}

std::vector<Tensor> inputs_of(const Case& c) {
  return testing::rnn_inputs(c.cell, c.D, T, N, I, H, c.states);
}

RnnOutputs ours(const Case& c, const std::vector<Tensor>& in) {
  RnnParams p;
  p.cell = c.cell;
  p.linear_before_reset = c.lbr;
  p.lengths = c.lengths;
  return rnn_layer(p, in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
}

reference::RnnOutputs theirs(const Case& c, const std::vector<RefTensor>& in) {
  return reference::rnn(c.cell, in[0], in[1], in[2], in[3], in[4], in[5], in[6], c.lengths, c.lbr);
}

std::vector<RefTensor> ref_inputs(const std::vector<Tensor>& in) {
  std::vector<RefTensor> out;
  for (const Tensor& t : in) out.push_back(t.defined() ? reference::from_tensor(t) : RefTensor());
  return out;
}

TEST(Rnn, ForwardMatchesTheReference) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name());
    const std::vector<Tensor> in = inputs_of(c);
    const RnnOutputs got = ours(c, in);
    const reference::RnnOutputs want = theirs(c, ref_inputs(in));
    testing::expect_close(got.y, want.y, 1e-5, "y");
    testing::expect_close(got.h_n, want.h_n, 1e-5, "h_n");
    if (c.cell == RnnCell::kLstm) testing::expect_close(got.c_n, want.c_n, 1e-5, "c_n");
    // Past a sample's length its outputs are exactly zero.
    for (size_t n = 0; n < c.lengths.size(); ++n)
      for (int64_t t = c.lengths[n]; t < T; ++t)
        for (int64_t k = 0; k < c.D * H; ++k)
          ASSERT_EQ(got.y.data<float>()[(t * N + static_cast<int64_t>(n)) * c.D * H + k], 0.0f);
  }
}

TEST(Rnn, BackwardMatchesFiniteDifferences) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name());
    const bool lstm = c.cell == RnnCell::kLstm;
    const std::vector<Tensor> in = inputs_of(c);
    // y, h_n and c_n flattened into one output, so one check covers them all.
    const testing::OurFn f = [&](const std::vector<Tensor>& x) {
      const RnnOutputs o = ours(c, x);
      std::vector<Tensor> parts = {reshape(o.y, {-1}), reshape(o.h_n, {-1})};
      if (lstm) parts.push_back(reshape(o.c_n, {-1}));
      return concat(parts, 0);
    };
    const testing::RefFn f_ref = [&](const std::vector<RefTensor>& x) {
      const reference::RnnOutputs o = theirs(c, x);
      RefTensor out;
      for (const RefTensor* r : {&o.y, &o.h_n, &o.c_n})
        out.v.insert(out.v.end(), r->v.begin(), r->v.end());
      out.shape = {static_cast<int64_t>(out.v.size())};
      return out;
    };
    std::vector<bool> check;
    for (const Tensor& t : in) check.push_back(t.defined());
    testing::check_gradients(f, f_ref, in, check);
  }
}

TEST(Rnn, ALengthOutsideTheStepsIsAnErrorNamingTheSample) {
  const Case c{RnnCell::kLstm, true, 1, {}, false};
  const std::vector<Tensor> in = inputs_of(c);
  RnnParams p;
  p.lengths = {5, 6, 1};
  try {
    rnn_layer(p, in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1 has length 6, outside [1, 5]"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
