// Internal to ops/cuda/ .cu files: the position of a flat index in a
// (planes, rows, cols) tensor, the decoding that element-wise kernels over
// NCHW data (resize, pooling, LRN) each need.
#pragma once

#include <cstdint>

namespace ringmaster::ops::cuda {

struct PlaneIndex {
  int64_t plane, row, col;
};

// k = (plane * rows + row) * cols + col.
__device__ __forceinline__ PlaneIndex plane_index(int64_t k, int64_t rows, int64_t cols) {
  return {k / (rows * cols), (k / cols) % rows, k % cols};
}

}  // namespace ringmaster::ops::cuda
