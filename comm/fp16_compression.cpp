// FP16 wire compression (see fp16_compression.h). The F16C kernels are
// compiled with a target attribute, like ops/cpu/half.cpp, so the build needs
// no -mf16c; without F16C the scalar conversions of ops/half.h are used.
#include "comm/fp16_compression.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/half.h"

namespace ringmaster::comm {
namespace {

inline uint16_t load_u16(const void* p, size_t i) {
  uint16_t v;
  std::memcpy(&v, static_cast<const char*>(p) + 2 * i, 2);
  return v;
}
inline void store_u16(void* p, size_t i, uint16_t v) {
  std::memcpy(static_cast<char*>(p) + 2 * i, &v, 2);
}

__attribute__((target("avx"))) float max_abs_avx(const float* x, size_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc = _mm256_max_ps(acc, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  float lanes[8];
  _mm256_storeu_ps(lanes, acc);
  float m = 0.0f;
  for (float v : lanes) m = v > m ? v : m;
  for (; i < n; ++i) m = std::fabs(x[i]) > m ? std::fabs(x[i]) : m;
  return m;
}

// An overflowed (inf) or NaN input leaves no residual: carried forward it
// would poison every later step (the loss scaler skips the step it spoiled).
inline float finite_or_zero(float r) { return std::isfinite(r) ? r : 0.0f; }

__attribute__((target("avx,f16c"))) void compress_f16c(const float* x, size_t n, float scale,
                                                       void* wire, float* residual) {
  const __m256 s = _mm256_set1_ps(scale), inv = _mm256_set1_ps(1.0f / scale);
  char* out = static_cast<char*>(wire);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m128i h = _mm256_cvtps_ph(_mm256_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), h);
    if (residual) {
      // r - r is 0 where r is finite and NaN where it is not: keep the finite.
      const __m256 r = _mm256_sub_ps(v, _mm256_mul_ps(_mm256_cvtph_ps(h), inv));
      const __m256 finite = _mm256_cmp_ps(_mm256_sub_ps(r, r), _mm256_setzero_ps(), _CMP_EQ_OQ);
      _mm256_storeu_ps(residual + i, _mm256_and_ps(r, finite));
    }
  }
  for (; i < n; ++i) {
    const uint16_t h = ops::float_to_half_scalar(x[i] * scale);
    store_u16(wire, i, h);
    if (residual)
      residual[i] = finite_or_zero(x[i] - ops::half_to_float_scalar(h) * (1.0f / scale));
  }
}

template <bool kAdd>
__attribute__((target("avx,f16c"))) void decompress_f16c(const void* wire, float scale, float* y,
                                                         size_t n) {
  const __m256 inv = _mm256_set1_ps(1.0f / scale);
  const char* in = static_cast<const char*>(wire);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(h), inv);
    if constexpr (kAdd) v = _mm256_add_ps(v, _mm256_loadu_ps(y + i));
    _mm256_storeu_ps(y + i, v);
  }
  for (; i < n; ++i) {
    const float v = ops::half_to_float_scalar(load_u16(wire, i)) * (1.0f / scale);
    y[i] = kAdd ? y[i] + v : v;
  }
}

template <bool kAdd>
void decompress(const void* wire, float scale, std::span<float> y) {
  if (ops::cpu_has_f16c()) return decompress_f16c<kAdd>(wire, scale, y.data(), y.size());
  const float inv = 1.0f / scale;
  for (size_t i = 0; i < y.size(); ++i) {
    const float v = ops::half_to_float_scalar(load_u16(wire, i)) * inv;
    y[i] = kAdd ? y[i] + v : v;
  }
}

}  // namespace

float fp16_scale(std::span<const float> x) {
  float m = 0.0f;
  if (ops::cpu_has_f16c()) {
    m = max_abs_avx(x.data(), x.size());
  } else {
    for (float v : x) m = std::fabs(v) > m ? std::fabs(v) : m;
  }
  if (m == 0.0f || !std::isfinite(m)) return 1.0f;
  // m in [2^e, 2^(e+1)): scale 2^(14 - e) puts it in [2^14, 2^15). Clamped so
  // that the scale and its inverse stay normal floats.
  const int e = std::ilogb(m);
  return std::ldexp(1.0f, std::clamp(14 - e, -120, 120));
}

void fp16_compress(std::span<const float> x, float scale, void* wire, float* residual) {
  if (ops::cpu_has_f16c()) return compress_f16c(x.data(), x.size(), scale, wire, residual);
  const float inv = 1.0f / scale;
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t h = ops::float_to_half_scalar(x[i] * scale);
    store_u16(wire, i, h);
    if (residual) residual[i] = finite_or_zero(x[i] - ops::half_to_float_scalar(h) * inv);
  }
}

void fp16_decompress(const void* wire, float scale, std::span<float> y) {
  decompress<false>(wire, scale, y);
}

void fp16_decompress_add(const void* wire, float scale, std::span<float> y) {
  decompress<true>(wire, scale, y);
}

std::span<float> ErrorFeedback::residual(uint64_t bucket, size_t n) {
  auto& r = residuals_[bucket];
  if (r.size() != n) r.assign(n, 0.0f);
  return r;
}

}  // namespace ringmaster::comm
