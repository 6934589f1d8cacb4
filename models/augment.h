// Data augmentation for image classification: an ordered list of steps
// (rotate, translate, random crop with padding, horizontal flip, scale,
// colour jitter, cutout), each applied with its probability p, on u8 images
// (C, H, W) in place. The result is a pure function of (seed, epoch, sample
// index): every random draw comes from a counter-based generator keyed by
// them and the step's position, so any worker, thread or rerun reproduces
// any sample. Output size always equals input size (geometric steps fill
// what they uncover with `fill`). Segmentation masks, when given, move with
// the image through the geometric steps (rotate and scale sample the nearest
// label; uncovered pixels become label 0, background); colour jitter and
// cutout leave them. No per-batch steps (mixup), no class-label changes, no
// float pipeline. Thread-safe (const, no state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmaster::models {

struct AugmentStep {
  enum class Kind : uint8_t { rotate, translate, crop, hflip, scale, color_jitter, cutout };
  Kind kind = Kind::hflip;
  double p = 1.0;           // probability of applying the step (hflip: 0.5 by default)
  double degrees = 0.0;     // rotate: angle uniform in [-degrees, degrees], bilinear
  int64_t pixels = 0;       // translate: shift uniform in [-pixels, pixels] per axis
  int64_t padding = 0;      // crop: pad by this much, then crop the original size
  double min_scale = 1.0;   // scale: zoom factor uniform in [min_scale, max_scale]
  double max_scale = 1.0;   //   about the centre, bilinear
  double brightness = 0.0;  // color_jitter: factors uniform in [1 - b, 1 + b], ...
  double contrast = 0.0;    //   applied in this order; saturation needs 3 channels
  double saturation = 0.0;
  int64_t size = 0;  // cutout: a size x size square set to fill, centre anywhere
  int64_t fill = 0;  // value for uncovered / cut-out pixels (0..255)
};

const char* augment_kind_name(AugmentStep::Kind k);
// "rotate" -> Kind::rotate; false when unknown.
bool augment_kind_from_name(const std::string& name, AugmentStep::Kind& out);

// The steps of a spec's data.augment, applied in order.
class Augmenter {
 public:
  explicit Augmenter(std::vector<AugmentStep> steps);
  const std::vector<AugmentStep>& steps() const { return steps_; }
  bool empty() const { return steps_.empty(); }
  // image: (C, H, W) u8, changed in place; mask: null, or that image's
  // (H, W) u8 labels, moved in place with it. Returns the factor by which
  // the steps scaled areas (the product of the scale steps' factor^2; 1
  // when none ran), for rules on how much of an item stays in the frame.
  double apply(uint8_t* image, int64_t c, int64_t h, int64_t w, uint64_t seed, int64_t epoch,
               int64_t index, uint8_t* mask = nullptr) const;

 private:
  std::vector<AugmentStep> steps_;
};

// The deterministic primitives the steps use (exposed for tests). All take
// and give (C, H, W) u8 images of the same size.
void augment_hflip(uint8_t* image, int64_t c, int64_t h, int64_t w);
// Counter-clockwise by `degrees` about the centre ((W-1)/2, (H-1)/2), bilinear;
// multiples of 90 degrees use exact sines, so four 90-degree turns of a
// square image give it back bit for bit.
void augment_rotate(uint8_t* image, int64_t c, int64_t h, int64_t w, double degrees, int64_t fill);
// Content moves by (dy, dx) pixels (down, right).
void augment_translate(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t dy, int64_t dx,
                       int64_t fill);
// Crop of the (H + 2*padding, W + 2*padding) padded image at (top, left),
// 0 <= top, left <= 2*padding.
void augment_crop(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t padding, int64_t top,
                  int64_t left, int64_t fill);
void augment_scale(uint8_t* image, int64_t c, int64_t h, int64_t w, double factor, int64_t fill);
void augment_color(uint8_t* image, int64_t c, int64_t h, int64_t w, double brightness,
                   double contrast, double saturation);
void augment_cutout(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t cy, int64_t cx,
                    int64_t size, int64_t fill);

}  // namespace ringmaster::models
