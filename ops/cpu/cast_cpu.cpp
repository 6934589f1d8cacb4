// cast CPU kernel: f32 <-> f16 through ops/half.h (F16C when present), split
// into one contiguous chunk per thread.
#include <algorithm>

#include "ops/cast.h"
#include "ops/half.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void cast_convert_cpu(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  constexpr int64_t kChunk = 1 << 14;  // elements per task; multiple of 8 for F16C
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const bool to_half = y.dtype() == DType::f16;
  const float* xf = to_half ? x.data<float>() : nullptr;
  uint16_t* yh = to_half ? y.data<uint16_t>() : nullptr;
  const uint16_t* xh = to_half ? nullptr : x.data<uint16_t>();
  float* yf = to_half ? nullptr : y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
    if (to_half) {
      float_to_half(xf + begin, yh + begin, len);
    } else {
      half_to_float(xh + begin, yf + begin, len);
    }
  }
}

}  // namespace

RM_REGISTER_KERNELS(CastKernels, cpu, {cast_convert_cpu});

}  // namespace ringmaster::ops
