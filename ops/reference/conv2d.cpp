// Reference convolution: the direct six-deep loop, accumulating in double.
// No blocking, no im2col; padded taps are skipped (they contribute zero).
#include "ops/reference/conv2d.h"

namespace ringmaster::ops::reference {

RefTensor conv2d(const RefTensor& x, const RefTensor& w, const RefTensor& b,
                 const Conv2dParams& p) {
  const int64_t n_batch = x.shape[0], c_in = x.shape[1], h_in = x.shape[2], w_in = x.shape[3];
  const int64_t c_out = w.shape[0], c_per_g = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t o_per_g = c_out / p.groups;
  RM_CHECK(c_per_g * p.groups == c_in, "reference conv2d: channels ", c_in, " vs weights ",
           shape_str(w.shape), " with groups ", p.groups);
  const int64_t oh =
      conv_output_size(h_in, kh, p.stride[0], p.padding_begin[0], p.padding_end[0], p.dilation[0]);
  const int64_t ow =
      conv_output_size(w_in, kw, p.stride[1], p.padding_begin[1], p.padding_end[1], p.dilation[1]);
  const bool has_bias = !b.shape.empty();
  RefTensor y({n_batch, c_out, oh, ow});  // (N, O, OH, OW)
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t o = 0; o < c_out; ++o) {
      const int64_t g = o / o_per_g;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double acc = has_bias ? b.v[static_cast<size_t>(o)] : 0.0;
          for (int64_t c = 0; c < c_per_g; ++c) {
            for (int64_t u = 0; u < kh; ++u) {
              const int64_t hi = i * p.stride[0] - p.padding_begin[0] + u * p.dilation[0];
              if (hi < 0 || hi >= h_in) continue;
              for (int64_t v = 0; v < kw; ++v) {
                const int64_t wi = j * p.stride[1] - p.padding_begin[1] + v * p.dilation[1];
                if (wi < 0 || wi >= w_in) continue;
                acc += x.at(n, g * c_per_g + c, hi, wi) * w.at(o, c, u, v);
              }
            }
          }
          if (p.fuse_relu && acc < 0.0) acc = 0.0;
          y.at(n, o, i, j) = acc;
        }
      }
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
