// In-place optimizer updates of one parameter, on the parameter's device:
// torch.optim's SGD and Adam/AdamW rules (1.13) in float, with the scalars
// formed by the caller (training/optimizer.cpp). No autograd, no state
// ownership: the caller owns the momentum / moment buffers. Blocks until the
// CPU update is done (a CUDA update is queued on the default stream).
#pragma once

#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct SgdStep {
  float lr = 0.0f;
  float weight_decay = 0.0f;         // L2: added to the gradient
  float momentum = 0.0f;             // 0: plain SGD, no buffer
  float one_minus_dampening = 1.0f;  // 1 - dampening
  bool nesterov = false;
  bool first = false;  // the buffer is uninitialised: it becomes the gradient
};

// d = g + wd * p; momentum == 0: p -= lr * d; else buf = first ? d :
// momentum * buf + (1 - dampening) * d; p -= lr * (nesterov ? d + momentum *
// buf : buf). param, grad (and buf when momentum != 0): plain f32, one shape,
// one device.
void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
                const SgdStep& s);

struct AdamStep {
  float step_size = 0.0f;   // lr / (1 - beta1^t)
  float bias2_sqrt = 1.0f;  // sqrt(1 - beta2^t)
  float beta1 = 0.9f, beta2 = 0.999f;
  float one_minus_beta1 = 0.1f, one_minus_beta2 = 0.001f;
  float eps = 1e-8f;
  float l2 = 0.0f;      // Adam's weight decay (on the gradient); 0 for AdamW
  float shrink = 1.0f;  // AdamW's 1 - lr * wd; 1 for Adam
};

// p' = p * shrink; g' = g + l2 * p'; m = b1 m + (1-b1) g'; v = b2 v + (1-b2)
// g'^2; p = p' - step_size * m / (sqrt(v) / bias2_sqrt + eps). All plain f32
// of one shape on one device.
void adam_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                 const AdamStep& s);

// Mixed precision's overflow check: multiplies every gradient by inv_scale
// in place and returns true when any value was inf or NaN. Plain f32
// gradients on any devices (one flag read back per device: a sync).
bool unscale_grads(const std::vector<Tensor>& grads, float inv_scale);

// The L2 norm of all the gradients taken together (what clip_grad_norm
// measures), squares summed in double. Plain f32 gradients on any devices
// (one value read back per device: a sync). inf or NaN when a value is.
double grad_norm(const std::vector<Tensor>& grads);

// Backend kernels; checked arguments.
struct OptimizerUpdateKernels {
  void (*sgd)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
              const SgdStep& s);
  void (*adam)(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
               const AdamStep& s);
  // grad *= inv_scale; found (one i32 on grad's device) set to 1 on inf/NaN.
  void (*unscale)(const Tensor& grad, float inv_scale, const Tensor& found);
  // acc (8 bytes on grad's device, read as one double) += sum of grad^2.
  void (*sum_squares)(const Tensor& grad, const Tensor& acc);
};

}  // namespace ringmaster::ops
