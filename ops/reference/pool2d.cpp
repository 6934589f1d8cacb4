// Reference pooling: one loop nest per kind, windows clipped the way PyTorch
// clips them. Max ignores padded taps; average divides by the window clipped
// to the padded input (count_include_pad) or by the real taps it covers.
#include "ops/reference/pool2d.h"

#include <algorithm>
#include <limits>

namespace ringmaster::ops::reference {
namespace {

struct Geometry {
  int64_t oh, ow;
};

Geometry geometry(const RefTensor& x, const Pool2dParams& p) {
  return {pool_output_size(x.shape[2], p.kernel[0], p.stride[0], p.padding_begin[0],
                           p.padding_end[0], p.dilation[0], p.ceil_mode),
          pool_output_size(x.shape[3], p.kernel[1], p.stride[1], p.padding_begin[1],
                           p.padding_end[1], p.dilation[1], p.ceil_mode)};
}

}  // namespace

RefTensor max_pool2d(const RefTensor& x, const Pool2dParams& p) {
  const Geometry g = geometry(x, p);
  const int64_t h_in = x.shape[2], w_in = x.shape[3];
  RefTensor y({x.shape[0], x.shape[1], g.oh, g.ow});  // (N, C, OH, OW)
  for (int64_t n = 0; n < x.shape[0]; ++n) {
    for (int64_t c = 0; c < x.shape[1]; ++c) {
      for (int64_t i = 0; i < g.oh; ++i) {
        for (int64_t j = 0; j < g.ow; ++j) {
          double m = -std::numeric_limits<double>::infinity();
          for (int64_t u = 0; u < p.kernel[0]; ++u) {
            const int64_t hi = i * p.stride[0] - p.padding_begin[0] + u * p.dilation[0];
            if (hi < 0 || hi >= h_in) continue;
            for (int64_t v = 0; v < p.kernel[1]; ++v) {
              const int64_t wi = j * p.stride[1] - p.padding_begin[1] + v * p.dilation[1];
              if (wi < 0 || wi >= w_in) continue;
              m = std::max(m, x.at(n, c, hi, wi));
            }
          }
          y.at(n, c, i, j) = m;
        }
      }
    }
  }
  return y;
}

RefTensor avg_pool2d(const RefTensor& x, const Pool2dParams& p) {
  const Geometry g = geometry(x, p);
  const int64_t h_in = x.shape[2], w_in = x.shape[3];
  RefTensor y({x.shape[0], x.shape[1], g.oh, g.ow});  // (N, C, OH, OW)
  for (int64_t n = 0; n < x.shape[0]; ++n) {
    for (int64_t c = 0; c < x.shape[1]; ++c) {
      for (int64_t i = 0; i < g.oh; ++i) {
        for (int64_t j = 0; j < g.ow; ++j) {
          // Window clipped to the padded input [-pad_begin, size + pad_end).
          const int64_t h0 = i * p.stride[0] - p.padding_begin[0];
          const int64_t w0 = j * p.stride[1] - p.padding_begin[1];
          const int64_t h1 = std::min(h0 + p.kernel[0], h_in + p.padding_end[0]);
          const int64_t w1 = std::min(w0 + p.kernel[1], w_in + p.padding_end[1]);
          double sum = 0.0;
          int64_t real = 0;
          for (int64_t hi = std::max<int64_t>(h0, 0); hi < std::min(h1, h_in); ++hi) {
            for (int64_t wi = std::max<int64_t>(w0, 0); wi < std::min(w1, w_in); ++wi) {
              sum += x.at(n, c, hi, wi);
              ++real;
            }
          }
          const int64_t count = p.count_include_pad ? (h1 - h0) * (w1 - w0) : real;
          y.at(n, c, i, j) = sum / static_cast<double>(count);
        }
      }
    }
  }
  return y;
}

RefTensor global_avg_pool2d(const RefTensor& x) {
  RefTensor y({x.shape[0], x.shape[1], 1, 1});  // (N, C, 1, 1)
  const int64_t hw = x.shape[2] * x.shape[3];
  for (int64_t n = 0; n < x.shape[0]; ++n) {
    for (int64_t c = 0; c < x.shape[1]; ++c) {
      double sum = 0.0;
      for (int64_t h = 0; h < x.shape[2]; ++h) {
        for (int64_t w = 0; w < x.shape[3]; ++w) sum += x.at(n, c, h, w);
      }
      y.at(n, c, 0, 0) = sum / static_cast<double>(hw);
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
