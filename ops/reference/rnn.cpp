// Reference recurrent layers (see rnn.h): plain loops in double.
#include "ops/reference/rnn.h"

#include <cmath>

#include "ops/check.h"

namespace ringmaster::ops::reference {
namespace {

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// One direction's parameters, viewed.
struct Direction {
  const double* w_ih;  // (G*H, I)
  const double* w_hh;  // (G*H, H)
  const double* b_ih;  // (G*H) or null
  const double* b_hh;
};

// out[g] = b[g] + sum_k w[g, k] * v[k] for the G*H rows of w (row-major, k < width).
void affine(const double* w, const double* b, const double* v, int64_t rows, int64_t width,
            double* out) {
  for (int64_t r = 0; r < rows; ++r) {
    double s = b != nullptr ? b[r] : 0.0;
    for (int64_t k = 0; k < width; ++k) s += w[r * width + k] * v[k];
    out[r] = s;
  }
}

// One step of one sample: h, c updated in place from input x.
void step(RnnCell cell, const Direction& d, const double* x, int64_t in, int64_t hidden,
          bool linear_before_reset, double* h, double* c) {
  const int64_t g = rnn_gate_count(cell);
  std::vector<double> gx(static_cast<size_t>(g * hidden)), gh(static_cast<size_t>(g * hidden));
  affine(d.w_ih, d.b_ih, x, g * hidden, in, gx.data());
  affine(d.w_hh, d.b_hh, h, g * hidden, hidden, gh.data());
  std::vector<double> next(static_cast<size_t>(hidden));
  for (int64_t j = 0; j < hidden; ++j) {
    auto at = [&](const std::vector<double>& v, int64_t gate) {
      return v[static_cast<size_t>(gate * hidden + j)];
    };
    switch (cell) {
      case RnnCell::kTanh:
        next[static_cast<size_t>(j)] = std::tanh(at(gx, 0) + at(gh, 0));
        break;
      case RnnCell::kLstm: {
        const double i = sigmoid(at(gx, 0) + at(gh, 0));
        const double f = sigmoid(at(gx, 1) + at(gh, 1));
        const double gg = std::tanh(at(gx, 2) + at(gh, 2));
        const double o = sigmoid(at(gx, 3) + at(gh, 3));
        c[j] = f * c[j] + i * gg;
        next[static_cast<size_t>(j)] = o * std::tanh(c[j]);
        break;
      }
      case RnnCell::kGru: {
        const double r = sigmoid(at(gx, 0) + at(gh, 0));
        const double z = sigmoid(at(gx, 1) + at(gh, 1));
        double n;
        if (linear_before_reset) {
          n = std::tanh(at(gx, 2) + r * at(gh, 2));
        } else {
          // W_hn (r*h) + b_hn: the n rows of w_hh applied to the reset state.
          double s = d.b_hh != nullptr ? d.b_hh[2 * hidden + j] : 0.0;
          for (int64_t k = 0; k < hidden; ++k) {
            const double rk = sigmoid(gx[static_cast<size_t>(k)] + gh[static_cast<size_t>(k)]);
            s += d.w_hh[(2 * hidden + j) * hidden + k] * rk * h[k];
          }
          n = std::tanh(at(gx, 2) + s);
        }
        next[static_cast<size_t>(j)] = (1.0 - z) * n + z * h[j];
        break;
      }
    }
  }
  for (int64_t j = 0; j < hidden; ++j) h[j] = next[static_cast<size_t>(j)];
}

}  // namespace

RnnOutputs rnn(RnnCell cell, const RefTensor& x, const RefTensor& h0, const RefTensor& c0,
               const RefTensor& w_ih, const RefTensor& w_hh, const RefTensor& b_ih,
               const RefTensor& b_hh, const std::vector<int64_t>& lengths,
               bool linear_before_reset) {
  RM_CHECK(x.shape.size() == 3 && w_ih.shape.size() == 3 && w_hh.shape.size() == 3,
           "reference rnn: x (T, N, I), w_ih (D, G*H, I), w_hh (D, G*H, H)");
  const int64_t steps = x.shape[0], batch = x.shape[1], in = x.shape[2];
  const int64_t dirs = w_ih.shape[0], g = rnn_gate_count(cell), hidden = w_hh.shape[2];
  RM_CHECK(w_ih.shape[1] == g * hidden && w_ih.shape[2] == in && w_hh.shape[1] == g * hidden,
           "reference rnn: weight shapes do not fit");
  RM_CHECK(lengths.empty() || static_cast<int64_t>(lengths.size()) == batch,
           "reference rnn: one length per sample");
  RnnOutputs out;
  out.y = RefTensor({steps, batch, dirs * hidden});
  out.h_n = RefTensor({dirs, batch, hidden});
  if (cell == RnnCell::kLstm) out.c_n = RefTensor({dirs, batch, hidden});
  for (int64_t d = 0; d < dirs; ++d) {
    const Direction p{w_ih.v.data() + d * g * hidden * in, w_hh.v.data() + d * g * hidden * hidden,
                      b_ih.v.empty() ? nullptr : b_ih.v.data() + d * g * hidden,
                      b_hh.v.empty() ? nullptr : b_hh.v.data() + d * g * hidden};
    for (int64_t n = 0; n < batch; ++n) {
      const int64_t len = lengths.empty() ? steps : lengths[static_cast<size_t>(n)];
      RM_CHECK(len >= 1 && len <= steps, "reference rnn: length ", len, " outside [1, ", steps,
               "]");
      std::vector<double> h(static_cast<size_t>(hidden), 0.0), c(h);
      for (int64_t j = 0; j < hidden; ++j) {
        const size_t at = static_cast<size_t>((d * batch + n) * hidden + j);
        if (!h0.v.empty()) h[static_cast<size_t>(j)] = h0.v[at];
        if (!c0.v.empty()) c[static_cast<size_t>(j)] = c0.v[at];
      }
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = d == 0 ? s : len - 1 - s;
        step(cell, p, x.v.data() + (t * batch + n) * in, in, hidden, linear_before_reset, h.data(),
             c.data());
        for (int64_t j = 0; j < hidden; ++j)
          out.y.v[static_cast<size_t>((t * batch + n) * dirs * hidden + d * hidden + j)] =
              h[static_cast<size_t>(j)];
      }
      for (int64_t j = 0; j < hidden; ++j) {
        const size_t at = static_cast<size_t>((d * batch + n) * hidden + j);
        out.h_n.v[at] = h[static_cast<size_t>(j)];
        if (cell == RnnCell::kLstm) out.c_n.v[at] = c[static_cast<size_t>(j)];
      }
    }
  }
  return out;
}

}  // namespace ringmaster::ops::reference
