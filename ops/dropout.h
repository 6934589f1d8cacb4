// Inverted dropout: in training each element is zeroed with probability p and
// the survivors scaled by 1 / (1 - p); in eval (or p == 0) y is x itself.
// The mask is drawn from `seed` (a counter-based hash of seed and element
// index), so the same seed gives the same mask on any thread count.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor dropout(const Tensor& x, float p, bool training, uint64_t seed);

}  // namespace ringmaster::ops
