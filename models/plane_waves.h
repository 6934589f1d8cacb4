// PlaneWaves: four plane waves of random frequency (0.05..0.35 radians per
// pixel), direction and phase, drawn from a RandomStream; at(y, x) is their
// sum, in [-4, 4]. The wavy texture under the composites' items (segmentation
// and captions).
#pragma once

#include <cmath>
#include <numbers>

#include "models/random_stream.h"

namespace ringmaster::models {

class PlaneWaves {
 public:
  explicit PlaneWaves(RandomStream& r) {
    for (int w = 0; w < kWaves; ++w) {
      const double freq = 0.05 + 0.3 * r.uniform(), angle = std::numbers::pi * r.uniform();
      fy_[w] = freq * std::sin(angle);
      fx_[w] = freq * std::cos(angle);
      phase_[w] = 2.0 * std::numbers::pi * r.uniform();
    }
  }
  double at(double y, double x) const {
    double v = 0.0;
    for (int w = 0; w < kWaves; ++w) v += std::sin(fy_[w] * y + fx_[w] * x + phase_[w]);
    return v;
  }

 private:
  static constexpr int kWaves = 4;
  double fy_[kWaves], fx_[kWaves], phase_[kWaves];
};

}  // namespace ringmaster::models
