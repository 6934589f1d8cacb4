// Reference transposed convolution: every input pixel scatters its weighted
// kernel into the output (taps landing in the cropped padding are dropped),
// accumulating in double. No gather formulation, no blocking.
#include "ops/reference/conv_transpose2d.h"

namespace ringmaster::ops::reference {

RefTensor conv_transpose2d(const RefTensor& x, const RefTensor& w, const RefTensor& b,
                           const ConvTranspose2dParams& p) {
  const int64_t n_batch = x.shape[0], c_in = x.shape[1], h_in = x.shape[2], w_in = x.shape[3];
  const int64_t o_per_g = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t c_per_g = c_in / p.groups, c_out = o_per_g * p.groups;
  RM_CHECK(w.shape[0] == c_in, "reference conv_transpose2d: channels ", c_in, " vs weights ",
           shape_str(w.shape));
  const int64_t oh =
      conv_transpose_output_size(h_in, kh, p.stride[0], p.padding_begin[0], p.padding_end[0],
                                 p.dilation[0], p.output_padding[0]);
  const int64_t ow =
      conv_transpose_output_size(w_in, kw, p.stride[1], p.padding_begin[1], p.padding_end[1],
                                 p.dilation[1], p.output_padding[1]);
  const bool has_bias = !b.shape.empty();
  RefTensor y({n_batch, c_out, oh, ow});  // (N, O, OH, OW)
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t o = 0; o < c_out; ++o) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j)
          y.at(n, o, i, j) = has_bias ? b.v[static_cast<size_t>(o)] : 0.0;
      }
    }
    for (int64_t c = 0; c < c_in; ++c) {
      const int64_t g = c / c_per_g;
      for (int64_t i = 0; i < h_in; ++i) {
        for (int64_t j = 0; j < w_in; ++j) {
          const double xv = x.at(n, c, i, j);
          for (int64_t ol = 0; ol < o_per_g; ++ol) {
            const int64_t o = g * o_per_g + ol;
            for (int64_t u = 0; u < kh; ++u) {
              const int64_t yi = i * p.stride[0] - p.padding_begin[0] + u * p.dilation[0];
              if (yi < 0 || yi >= oh) continue;
              for (int64_t v = 0; v < kw; ++v) {
                const int64_t yj = j * p.stride[1] - p.padding_begin[1] + v * p.dilation[1];
                if (yj < 0 || yj >= ow) continue;
                y.at(n, o, yi, yj) += xv * w.at(c, ol, u, v);
              }
            }
          }
        }
      }
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
