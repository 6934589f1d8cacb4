// The per-element terms and derivatives of smooth_l1_loss and
// bce_with_logits (see their headers), shared by the CPU and CUDA kernels.
// Terms in double (they are summed in double); derivatives in float.
#pragma once

#include <cmath>

#include "ops/host_device.h"

namespace ringmaster::ops {

RM_HOST_DEVICE inline double smooth_l1_term(float x, float t, double beta) {
  const double d = static_cast<double>(x) - static_cast<double>(t);
  const double a = d < 0 ? -d : d;
  return a < beta ? 0.5 * d * d / beta : a - 0.5 * beta;
}

RM_HOST_DEVICE inline float smooth_l1_derivative(float x, float t, double beta) {
  const double d = static_cast<double>(x) - static_cast<double>(t);
  const double a = d < 0 ? -d : d;
  if (a < beta) return static_cast<float>(d / beta);
  return d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
}

RM_HOST_DEVICE inline double bce_with_logits_term(float x, float t) {
  const double v = x, a = v < 0 ? -v : v;
  return (v > 0 ? v : 0.0) - v * static_cast<double>(t) + log1p(exp(-a));
}

RM_HOST_DEVICE inline float bce_with_logits_derivative(float x, float t) {
  const double v = x;
  const double sigmoid = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
  return static_cast<float>(sigmoid - static_cast<double>(t));
}

}  // namespace ringmaster::ops
