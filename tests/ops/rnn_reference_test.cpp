// The reference recurrent layers (ops/reference/rnn.h) against the ONNX node
// cases of libonnx-testdata for RNN, LSTM and GRU: default and initial
// biases, batch-first layout, per-sample sequence lengths, and GRU with the
// reset gate before the hidden matmul (ONNX's default) as well as after.
// ONNX's gate orders (LSTM i,o,f,c; GRU z,r,h) are turned into PyTorch's
// (i,f,g,o; r,z,n), so the same conversion will serve the ops. Those cases
// give every gate the same weights, so they cannot tell gates apart: a test
// of each gate's role (PyTorch's documented order) does. The oracle is
// checked here so that the ops' kernels can be checked against it; the same
// ONNX cases run the op (ops/rnn.h, oneDNN) too: RnnOp.*.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "onnx/onnx_reader.h"
#include "ops/reference/rnn.h"
#include "ops/rnn.h"

namespace ringmaster::ops::reference {
namespace {

namespace fs = std::filesystem;

std::string data_root() {
  if (const char* env = std::getenv("RM_ONNX_TESTDATA")) return env;
  return "/usr/share/libonnx-testdata/data";
}

// Rows of a (D, G*H, K) or (D, G*H) tensor with the gate blocks reordered:
// ours[g] = theirs[perm[g]].
RefTensor regate(const RefTensor& t, const std::vector<int>& perm, int64_t hidden) {
  RefTensor out(t.shape);
  const int64_t dirs = t.shape[0], gates = static_cast<int64_t>(perm.size());
  const int64_t width = t.shape.size() == 3 ? t.shape[2] : 1;
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t g = 0; g < gates; ++g)
      for (int64_t r = 0; r < hidden * width; ++r)
        out.v[static_cast<size_t>((d * gates + g) * hidden * width + r)] = t.v[static_cast<size_t>(
            (d * gates + perm[static_cast<size_t>(g)]) * hidden * width + r)];
  return out;
}

// (A, B, C) -> (B, A, C).
RefTensor swap01(const RefTensor& t) {
  const int64_t a = t.shape[0], b = t.shape[1], c = t.shape[2];
  RefTensor out({b, a, c});
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k)
        out.v[static_cast<size_t>((j * a + i) * c + k)] =
            t.v[static_cast<size_t>((i * b + j) * c + k)];
  return out;
}

struct Loaded {
  onnx::Model model;
  std::map<std::string, RefTensor> inputs;  // by graph input name
  std::map<std::string, Tensor> raw;        // the same, as read (lengths are ints)
  std::vector<RefTensor> outputs;           // in graph output order
};

Loaded load(const fs::path& dir) {
  Loaded l;
  l.model = onnx::read_model((dir / "model.onnx").string());
  const fs::path set = dir / "test_data_set_0";
  for (size_t i = 0; i < l.model.inputs.size(); ++i) {
    const onnx::OnnxTensor t =
        onnx::read_tensor((set / ("input_" + std::to_string(i) + ".pb")).string());
    l.raw[l.model.inputs[i]] = t.tensor;
    if (t.tensor.dtype() == DType::f32) l.inputs[l.model.inputs[i]] = from_tensor(t.tensor);
  }
  for (size_t i = 0; i < l.model.outputs.size(); ++i)
    l.outputs.push_back(from_tensor(
        onnx::read_tensor((set / ("output_" + std::to_string(i) + ".pb")).string()).tensor));
  return l;
}

void expect_near_all(const RefTensor& got, const RefTensor& want, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  double worst = 0.0;
  for (size_t i = 0; i < got.v.size(); ++i)
    worst = std::max(worst, std::abs(got.v[i] - want.v[i]) / (1e-4 + std::abs(want.v[i])));
  EXPECT_LT(worst, 1e-3) << what << ": worst relative difference " << worst;
}

// The layer under test: the oracle, or the op on Tensors.
using Runner = std::function<RnnOutputs(
    RnnCell, const RefTensor& x, const RefTensor& h0, const RefTensor& c0, const RefTensor& w_ih,
    const RefTensor& w_hh, const RefTensor& b_ih, const RefTensor& b_hh,
    const std::vector<int64_t>& lengths, bool linear_before_reset)>;

RnnOutputs run_oracle(RnnCell cell, const RefTensor& x, const RefTensor& h0, const RefTensor& c0,
                      const RefTensor& w_ih, const RefTensor& w_hh, const RefTensor& b_ih,
                      const RefTensor& b_hh, const std::vector<int64_t>& lengths, bool lbr) {
  return rnn(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, lbr);
}

RnnOutputs run_op(RnnCell cell, const RefTensor& x, const RefTensor& h0, const RefTensor& c0,
                  const RefTensor& w_ih, const RefTensor& w_hh, const RefTensor& b_ih,
                  const RefTensor& b_hh, const std::vector<int64_t>& lengths, bool lbr) {
  const auto t = [](const RefTensor& r) { return r.v.empty() ? Tensor() : to_tensor(r); };
  ops::RnnParams p;
  p.cell = cell == RnnCell::kLstm  ? ops::RnnCell::kLstm
           : cell == RnnCell::kGru ? ops::RnnCell::kGru
                                   : ops::RnnCell::kTanh;
  p.linear_before_reset = lbr;
  p.lengths = lengths;
  const ops::RnnOutputs o =
      ops::rnn_layer(p, t(x), t(h0), t(c0), t(w_ih), t(w_hh), t(b_ih), t(b_hh));
  RnnOutputs out{from_tensor(o.y), from_tensor(o.h_n), {}};
  if (o.c_n.defined()) out.c_n = from_tensor(o.c_n);
  return out;
}

void check_case(const std::string& name, const Runner& run = run_oracle) {
  const fs::path dir = fs::path(data_root()) / "node" / name;
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " missing (Debian package libonnx-testdata)";
  const Loaded l = load(dir);
  ASSERT_EQ(l.model.nodes.size(), 1u);
  const onnx::Node& node = l.model.nodes[0];
  const std::string& op = node.op_type;
  const RnnCell cell = op == "LSTM" ? RnnCell::kLstm : op == "GRU" ? RnnCell::kGru : RnnCell::kTanh;
  const std::vector<int> perm = cell == RnnCell::kLstm  ? std::vector<int>{0, 2, 3, 1}
                                : cell == RnnCell::kGru ? std::vector<int>{1, 0, 2}
                                                        : std::vector<int>{0};
  const int64_t hidden = node.get_int("hidden_size", 0);
  const bool batch_first = node.get_int("layout", 0) == 1;
  ASSERT_EQ(node.get_string("direction", "forward"), "forward") << "only forward cases here";
  auto input = [&](size_t i) -> RefTensor {
    if (i >= node.inputs.size() || node.inputs[i].empty()) return {};
    auto it = l.inputs.find(node.inputs[i]);
    return it == l.inputs.end() ? RefTensor() : it->second;
  };
  RefTensor x = input(0);
  if (batch_first) x = swap01(x);
  const RefTensor w_ih = regate(input(1), perm, hidden);
  const RefTensor w_hh = regate(input(2), perm, hidden);
  RefTensor b_ih, b_hh;
  if (const RefTensor b = input(3); !b.v.empty()) {
    const int64_t gh = static_cast<int64_t>(perm.size()) * hidden, dirs = b.shape[0];
    RefTensor wb({dirs, gh}), rb({dirs, gh});
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t k = 0; k < gh; ++k) {
        wb.v[static_cast<size_t>(d * gh + k)] = b.v[static_cast<size_t>(d * 2 * gh + k)];
        rb.v[static_cast<size_t>(d * gh + k)] = b.v[static_cast<size_t>(d * 2 * gh + gh + k)];
      }
    b_ih = regate(wb, perm, hidden);
    b_hh = regate(rb, perm, hidden);
  }
  std::vector<int64_t> lengths;
  if (node.inputs.size() > 4 && !node.inputs[4].empty()) {
    const Tensor& t = l.raw.at(node.inputs[4]);
    for (int64_t i = 0; i < t.numel(); ++i)
      lengths.push_back(t.dtype() == DType::i32 ? t.data<int32_t>()[i] : t.data<int64_t>()[i]);
  }
  RefTensor h0 = input(5), c0 = input(6);
  if (batch_first && !h0.v.empty()) h0 = swap01(h0);
  if (batch_first && !c0.v.empty()) c0 = swap01(c0);
  const RnnOutputs got = run(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths,
                             node.get_int("linear_before_reset", 0) != 0);
  // ONNX: Y (T, D, N, H) or batch-first (N, T, D, H); Y_h, Y_c (D, N, H) or (N, D, H).
  const int64_t steps = x.shape[0], batch = x.shape[1];
  ASSERT_FALSE(l.outputs.empty()) << name << ": no expected outputs read";
  int compared = 0;
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    if (node.outputs[o].empty()) continue;
    // Expected outputs come in the graph's output order: find this one's.
    const auto at = std::find(l.model.outputs.begin(), l.model.outputs.end(), node.outputs[o]);
    if (at == l.model.outputs.end()) continue;
    RefTensor want = l.outputs[static_cast<size_t>(at - l.model.outputs.begin())];
    if (o == 0) {
      RefTensor y({steps, batch, hidden});  // D = 1 here
      y.v = got.y.v;
      RefTensor flat = want;
      flat.shape = batch_first ? Shape{batch, steps, hidden} : Shape{steps, batch, hidden};
      if (batch_first) flat = swap01(flat);
      expect_near_all(y, flat, name + " Y");
    } else {
      RefTensor state = o == 1 ? got.h_n : got.c_n;
      if (batch_first) want = swap01(want);
      expect_near_all(state, want, name + (o == 1 ? " Y_h" : " Y_c"));
    }
    ++compared;
  }
  EXPECT_GE(compared, 1) << name << ": nothing compared";
}

const std::vector<const char*> kLstmCases = {"test_lstm_defaults", "test_lstm_with_initial_bias",
                                             "test_lstm_batchwise"};
const std::vector<const char*> kGruCases = {"test_gru_defaults", "test_gru_with_initial_bias",
                                            "test_gru_seq_length", "test_gru_batchwise"};
const std::vector<const char*> kRnnCases = {"test_simple_rnn_defaults",
                                            "test_simple_rnn_with_initial_bias",
                                            "test_simple_rnn_batchwise", "test_rnn_seq_length"};

TEST(RnnReference, MatchesTheOnnxLstmCases) {
  for (const char* c : kLstmCases) check_case(c);
  // test_lstm_with_peepholes: peephole connections are not part of our LSTM
  // (PyTorch's has none either).
}

TEST(RnnReference, MatchesTheOnnxGruCases) {
  for (const char* c : kGruCases) check_case(c);
}

TEST(RnnReference, MatchesTheOnnxRnnCases) {
  for (const char* c : kRnnCases) check_case(c);
}

TEST(RnnOp, MatchesTheOnnxLstmGruAndRnnCases) {
  for (const auto* list : {&kLstmCases, &kGruCases, &kRnnCases})
    for (const char* c : *list) {
      SCOPED_TRACE(c);
      check_case(c, run_op);
    }
}

// Each gate's role, with zero weights and one bias per gate, so a gate in the
// wrong place gives another number: LSTM i = 1, f = 0, g = 0.5, o = 1 gives
// c' = 0.5 and h' = tanh(0.5) whatever c was; GRU r = 0, z = 0 gives
// h' = n = tanh(b_in) (r = 0 hides b_hn); with z = 1 the state is kept.
TEST(RnnReference, EachGateDoesItsJobInPyTorchsOrder) {
  const double big = 40.0;
  const RefTensor x({1, 1, 1}, {0.0});
  const RefTensor h0({1, 1, 1}, {0.25}), c0({1, 1, 1}, {-3.0});
  const RefTensor none_ih4({1, 4, 1}), none_hh4({1, 4, 1});
  const RnnOutputs lstm = rnn(RnnCell::kLstm, x, h0, c0, none_ih4, none_hh4,
                              RefTensor({1, 4}, {big, -big, std::atanh(0.5), big}), {}, {});
  EXPECT_NEAR(lstm.c_n.v[0], 0.5, 1e-12);
  EXPECT_NEAR(lstm.h_n.v[0], std::tanh(0.5), 1e-12);
  const RefTensor none_ih3({1, 3, 1}), none_hh3({1, 3, 1});
  for (bool lbr : {true, false}) {
    const RnnOutputs fresh = rnn(RnnCell::kGru, x, h0, {}, none_ih3, none_hh3,
                                 RefTensor({1, 3}, {0.0, -big, std::atanh(0.3)}),
                                 RefTensor({1, 3}, {-big, 0.0, 0.9}), {}, lbr);
    EXPECT_NEAR(fresh.h_n.v[0], lbr ? 0.3 : std::tanh(std::atanh(0.3) + 0.9), 1e-12);
    const RnnOutputs kept = rnn(RnnCell::kGru, x, h0, {}, none_ih3, none_hh3,
                                RefTensor({1, 3}, {0.0, big, 0.7}), {}, {}, lbr);
    EXPECT_NEAR(kept.h_n.v[0], 0.25, 1e-12);
  }
}

// The directions and lengths that no ONNX case above covers: the reverse
// direction of a bidirectional layer is the forward one run on each sample's
// sequence reversed within its own length.
TEST(RnnReference, TheSecondDirectionReadsEachSampleBackwardsWithinItsLength) {
  const int64_t steps = 5, batch = 3, in = 2, hidden = 3;
  RefTensor x({steps, batch, in});
  for (size_t i = 0; i < x.v.size(); ++i) x.v[i] = std::sin(0.7 * static_cast<double>(i));
  const std::vector<int64_t> lengths = {5, 2, 4};
  for (RnnCell cell : {RnnCell::kTanh, RnnCell::kLstm, RnnCell::kGru}) {
    const int64_t g = rnn_gate_count(cell);
    RefTensor w_ih({2, g * hidden, in}), w_hh({2, g * hidden, hidden});
    for (size_t i = 0; i < w_ih.v.size(); ++i) w_ih.v[i] = std::cos(1.3 * static_cast<double>(i));
    for (size_t i = 0; i < w_hh.v.size(); ++i) w_hh.v[i] = 0.5 * std::sin(0.9 * i + 1.0);
    const RnnOutputs both = rnn(cell, x, {}, {}, w_ih, w_hh, {}, {}, lengths);
    // Direction 1 alone, as a forward pass over reversed sequences.
    RefTensor w_ih1({1, g * hidden, in}), w_hh1({1, g * hidden, hidden});
    std::copy(w_ih.v.begin() + w_ih1.numel(), w_ih.v.end(), w_ih1.v.begin());
    std::copy(w_hh.v.begin() + w_hh1.numel(), w_hh.v.end(), w_hh1.v.begin());
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t len = lengths[static_cast<size_t>(n)];
      RefTensor xr({len, 1, in});
      for (int64_t t = 0; t < len; ++t)
        for (int64_t k = 0; k < in; ++k)
          xr.v[static_cast<size_t>(t * in + k)] =
              x.v[static_cast<size_t>(((len - 1 - t) * batch + n) * in + k)];
      const RnnOutputs one = rnn(cell, xr, {}, {}, w_ih1, w_hh1, {}, {}, {});
      for (int64_t j = 0; j < hidden; ++j) {
        EXPECT_NEAR(both.h_n.v[static_cast<size_t>((batch + n) * hidden + j)],
                    one.h_n.v[static_cast<size_t>(j)], 1e-12);
        // y at the sample's first step holds direction 1's final state.
        EXPECT_NEAR(both.y.v[static_cast<size_t>(n * 2 * hidden + hidden + j)],
                    one.h_n.v[static_cast<size_t>(j)], 1e-12);
      }
      for (int64_t t = len; t < steps; ++t)
        for (int64_t j = 0; j < 2 * hidden; ++j)
          EXPECT_EQ(both.y.v[static_cast<size_t>((t * batch + n) * 2 * hidden + j)], 0.0);
    }
  }
}

}  // namespace
}  // namespace ringmaster::ops::reference
