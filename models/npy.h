// NumPy .npy files (format versions 1.0, 2.0, 3.0): the magic "\x93NUMPY",
// a little-endian header length, a Python dict literal {'descr', 'fortran_order',
// 'shape'}, then the raw array. Reads little-endian float64 ('<f8') and
// float32 ('<f4') arrays in C order into doubles. No .npz, no object or
// structured dtypes, no Fortran order, no big-endian data, no writing.
//
// Errors: ops::Error naming the file and what is wrong (bad magic, a header
// it cannot read, a dtype or order it does not take, a data size that does
// not match the shape). Thread-safe; blocks on the file read.
#pragma once

#include <string>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::models {

struct NpyArray {
  ops::Shape shape;            // () for a scalar
  std::vector<double> values;  // shape_numel(shape) values, C order
};

NpyArray load_npy(const std::string& path);

}  // namespace ringmaster::models
