// Shared pieces of the CUDA op tests: a fixture that skips (with the CUDA
// runtime's reason) when there is no device and turns allocation poisoning on
// (every CUDA block starts as 0xFF bytes = NaN, so an output element a kernel
// forgets to write fails the comparison), tolerances per dtype, and a
// forward + backward comparison of an op on CUDA against the same op on the
// CPU (itself tested against the reference kernels in tests/ops/).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "ops/device_memory.h"
#include "ops/tensor.h"

namespace ringmaster::ops::testing {

// Relative-error bounds (max |got - want| / max |want|) for results that are
// not bit-exact: f32 sums in another order (cuDNN/cuBLAS algorithms, Winograd
// or FFT convolutions), and f16 storage.
constexpr double kTolF32Exact = 0.0;  // element-wise ops: the same float operations
constexpr double kTolF32 = 1e-5;      // short reductions (softmax, pooling, batch norm)
constexpr double kTolF32Gemm = 3e-4;  // long dot products (conv, linear)
constexpr double kTolF16 = 1e-3;      // one f16 rounding

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
};

// max |got - want| / max(max |want|, 1e-3) over two tensors of one shape on
// any devices; infinite when got holds a NaN (an unwritten, poisoned element).
double relative_error(const Tensor& got, const Tensor& want);
void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what);

// Runs f on the CPU inputs and on CUDA copies of them; expects the outputs
// within fwd_tol; then backpropagates one random upstream gradient through
// both and expects every input marked in `grad` to get gradients within
// bwd_tol. Also checks that the CUDA output and gradients live on the GPU.
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
void compare_with_cpu(const Fn& f, const std::vector<Tensor>& cpu_inputs,
                      const std::vector<bool>& grad, double fwd_tol, double bwd_tol,
                      const std::string& what);

// Mixed precision: the inputs marked in `half` are rounded to f16 values;
// the CPU runs f in f32 on the rounded values, the GPU on f16 tensors of the
// same values (the others stay f32 on both). Outputs and the gradients of
// the inputs marked in `grad` are compared within the tolerances (the GPU's
// come back f16 where its input was f16).
void compare_half_with_cpu(const Fn& f, const std::vector<Tensor>& cpu_inputs,
                           const std::vector<bool>& half, const std::vector<bool>& grad,
                           double fwd_tol, double bwd_tol, const std::string& what);

}  // namespace ringmaster::ops::testing

// First line of every CUDA test body that is not a fixture method.
#define RM_SKIP_WITHOUT_CUDA()                                                            \
  do {                                                                                    \
    if (::ringmaster::ops::cuda_device_count() == 0)                                      \
      GTEST_SKIP() << "no CUDA device: " << ::ringmaster::ops::cuda_unavailable_reason(); \
  } while (0)
