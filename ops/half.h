// IEEE binary16 <-> binary32 conversion of buffers on the CPU. Uses F16C
// (vcvtps2ph / vcvtph2ps, round to nearest even) when the processor has it,
// and an exact bit-level fallback otherwise. Thread-safe, blocking.
#pragma once

#include <cstdint>

namespace ringmaster::ops {

void float_to_half(const float* src, uint16_t* dst, int64_t n);
void half_to_float(const uint16_t* src, float* dst, int64_t n);
// Scalar versions (the portable fallback; also the test oracle).
uint16_t float_to_half_scalar(float f);
float half_to_float_scalar(uint16_t h);
bool cpu_has_f16c();

}  // namespace ringmaster::ops
