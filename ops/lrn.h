// Local response normalisation across channels (AlexNet, GoogLeNet v1), as
// PyTorch's LocalResponseNorm and ONNX's LRN define it:
//   y[n,c,h,w] = x[n,c,h,w] / (k + alpha / size * sum_{c' in window(c)} x[n,c',h,w]^2)^beta
// with window(c) = [c - (size-1)/2, c + (size-1)/2] clipped to the channels.
// size must be odd: for even sizes PyTorch, ONNX and oneDNN centre the window
// differently, so we refuse rather than pick one. x: (N, C, H, W) in any
// layout, f32 (or f16 on a GPU, computed in f32); y and dx come back in x's
// layout and dtype. No within-channel (spatial) LRN.
#pragma once

#include <cstdint>
#include <memory>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct LrnParams {
  int64_t size = 5;  // odd
  float alpha = 1e-4f;
  float beta = 0.75f;
  float k = 1.0f;
};

Tensor local_response_norm(const Tensor& x, const LrnParams& p);

// What a backend's forward keeps for backward (primitives, workspace, x).
struct LrnSaved {
  virtual ~LrnSaved() = default;
};

// Backend kernels. forward allocates y in x's layout; with saved non-null it
// prepares for training. backward returns dx in x's layout.
struct LrnKernels {
  Tensor (*forward)(const Tensor& x, const LrnParams& p, std::shared_ptr<LrnSaved>* saved);
  Tensor (*backward)(const LrnSaved& saved, const Tensor& dy);
};

}  // namespace ringmaster::ops
