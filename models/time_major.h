// Token rows (N, L), one sequence per row as data sets and batches hold them,
// read step-major as the recurrent layers take them: (L - first, N), step s
// of sequence i at [s][i] = tokens[i][first + s]. first 1 gives the
// next-token targets of a window whose inputs are columns 0 .. L-2.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::models {

// tokens: (N, L) i64 on any device, 0 <= first < L. The result is on the cpu.
ops::Tensor time_major_tokens(const ops::Tensor& tokens, int64_t first = 0);

}  // namespace ringmaster::models
