// 2-d pooling over (N, C, H, W): max, average, and global average.
//   y: (N, C, OH, OW),
//   OH = floor_or_ceil((H + pad_begin + pad_end - dilation*(K-1) - 1) / stride) + 1.
// ceil_mode as in PyTorch/ONNX (a last window may start in the padding-free
// region only). Average pooling divides by the window size including padding
// when count_include_pad, else by the number of real elements. Max-pool
// backward routes dy to the arg-max of each window (first max on ties).
// Any physical layout in, the same kind of layout out. f32, or f16 on a GPU.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct Pool2dParams {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{2, 2};
  std::array<int64_t, 2> padding_begin{0, 0};
  std::array<int64_t, 2> padding_end{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // max pool only
  bool ceil_mode = false;
  bool count_include_pad = false;  // average pool only
};

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
// (N, C, H, W) -> (N, C, 1, 1), the mean over H and W.
Tensor global_avg_pool2d(const Tensor& x);

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                         int64_t pad_end, int64_t dilation, bool ceil_mode);

enum class PoolKind : uint8_t { max, avg };

// What a backend's forward keeps for its backward (cached primitives, the
// max-pool workspace). Each backend derives its own; the op only holds it.
struct Pool2dSaved {
  virtual ~Pool2dSaved() = default;
};

// Backend kernels. The backend allocates y (in the layout it pairs with x's)
// and dx (in x's layout). y_shape: (N, C, OH, OW), checked by the op,
// including ceil_mode. When saved is not null the forward prepares for
// training and fills *saved.
struct Pool2dKernels {
  Tensor (*forward)(const Tensor& x, PoolKind kind, const Pool2dParams& p, const Shape& y_shape,
                    std::shared_ptr<Pool2dSaved>* saved);
  Tensor (*backward)(const Pool2dSaved& saved, const Tensor& dy);
};

}  // namespace ringmaster::ops
