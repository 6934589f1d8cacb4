// Augmentation: flipping twice is the identity, four 90-degree turns are the
// identity (and one turns counter-clockwise), random crops stay within the
// padding, translate/scale/colour/cutout basics, the same (seed, epoch,
// index) gives the same pixels whatever the call order, segmentation masks
// move with their pixels, and the batch loader applies it per dataset index
// (to masks too).
#include "models/augment.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "models/dataset.h"

namespace ringmaster::models {
namespace {

using Image = std::vector<uint8_t>;

Image random_image(int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  Image im(static_cast<size_t>(n));
  for (auto& v : im) v = static_cast<uint8_t>(g() % 256);
  return im;
}

TEST(Augment, FlipTwiceIsIdentity) {
  for (int64_t w : {1, 6, 7}) {
    const Image orig = random_image(3 * 5 * w, 1);
    Image im = orig;
    augment_hflip(im.data(), 3, 5, w);
    if (w > 1) {
      EXPECT_NE(im, orig);
    }
    EXPECT_EQ(im[0], orig[static_cast<size_t>(w - 1)]);  // first row reversed
    augment_hflip(im.data(), 3, 5, w);
    EXPECT_EQ(im, orig) << w;
  }
}

TEST(Augment, FourQuarterTurnsAreIdentity) {
  for (int64_t s : {5, 8}) {
    for (int64_t c : {1, 3}) {
      const Image orig = random_image(c * s * s, 2);
      for (double step : {90.0, -90.0, 270.0}) {
        Image im = orig;
        for (int i = 0; i < 4; ++i) augment_rotate(im.data(), c, s, s, step, 0);
        EXPECT_EQ(im, orig) << "size " << s << " channels " << c << " step " << step;
      }
    }
  }
  // Counter-clockwise: the top-middle pixel of a 3x3 goes to the middle-left.
  Image im(9, 0);
  im[1] = 200;
  augment_rotate(im.data(), 1, 3, 3, 90.0, 0);
  EXPECT_EQ(im, (Image{0, 0, 0, 200, 0, 0, 0, 0, 0}));
  // 180 degrees (also of a non-square image) reverses the pixel order.
  const Image orig = random_image(4 * 6, 3);
  Image a = orig, b = orig;
  augment_rotate(a.data(), 1, 4, 6, 180.0, 0);
  std::reverse(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

TEST(Augment, RandomCropsStayInBounds) {
  // Pixels 1..64 (position-coded, none zero): a crop is a shift of the
  // content by (dy, dx) with |dy|, |dx| <= padding, zeros exactly where the
  // source falls outside.
  const int64_t h = 8, w = 8, pad = 3;
  Image orig(static_cast<size_t>(h * w));
  for (size_t i = 0; i < orig.size(); ++i) orig[i] = static_cast<uint8_t>(i + 1);
  AugmentStep crop;
  crop.kind = AugmentStep::Kind::crop;
  crop.padding = pad;
  const Augmenter aug({crop});
  std::set<std::pair<int64_t, int64_t>> shifts;
  for (int64_t index = 0; index < 400; ++index) {
    Image im = orig;
    aug.apply(im.data(), 1, h, w, 7, 0, index);
    // Find the shift from any non-zero output pixel.
    int64_t dy = 99, dx = 99;
    for (int64_t y = 0; y < h && dy == 99; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const uint8_t v = im[static_cast<size_t>(y * w + x)];
        if (v == 0) continue;
        dy = y - (v - 1) / w;
        dx = x - (v - 1) % w;
        break;
      }
    }
    ASSERT_LE(std::abs(dy), pad) << index;
    ASSERT_LE(std::abs(dx), pad) << index;
    shifts.insert({dy, dx});
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sy = y - dy, sx = x - dx;
        const bool in = sy >= 0 && sy < h && sx >= 0 && sx < w;
        ASSERT_EQ(im[static_cast<size_t>(y * w + x)],
                  in ? orig[static_cast<size_t>(sy * w + sx)] : 0)
            << index << " at " << y << "," << x;
      }
    }
  }
  EXPECT_EQ(shifts.size(), static_cast<size_t>((2 * pad + 1) * (2 * pad + 1)));
}

TEST(Augment, TranslateScaleColourCutout) {
  Image im = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 3x3
  augment_translate(im.data(), 1, 3, 3, 1, -1, 0);
  EXPECT_EQ(im, (Image{0, 0, 0, 2, 3, 0, 5, 6, 0}));
  Image s = random_image(2 * 6 * 6, 4), t = s;
  augment_scale(t.data(), 2, 6, 6, 1.0, 0);
  EXPECT_EQ(s, t);  // factor 1 is the identity
  Image grey(16, 100);
  augment_color(grey.data(), 1, 4, 4, 1.5, 1.0, 1.0);
  EXPECT_EQ(grey, Image(16, 150));
  Image flat(16, 100);
  augment_color(flat.data(), 1, 4, 4, 1.0, 0.3, 1.0);  // no contrast to scale
  EXPECT_EQ(flat, Image(16, 100));
  Image cut(25, 9);
  augment_cutout(cut.data(), 1, 5, 5, 0, 0, 3, 0);  // centred on a corner: 2x2 inside
  EXPECT_EQ(std::count(cut.begin(), cut.end(), 0), 4);
}

std::vector<AugmentStep> every_step() {
  using K = AugmentStep::Kind;
  std::vector<AugmentStep> steps(7);
  steps[0].kind = K::rotate;
  steps[0].degrees = 15;
  steps[1].kind = K::translate;
  steps[1].pixels = 2;
  steps[2].kind = K::crop;
  steps[2].padding = 2;
  steps[3].kind = K::hflip;
  steps[3].p = 0.5;
  steps[4].kind = K::scale;
  steps[4].min_scale = 0.8;
  steps[4].max_scale = 1.2;
  steps[5].kind = K::color_jitter;
  steps[5].brightness = steps[5].contrast = steps[5].saturation = 0.3;
  steps[6].kind = K::cutout;
  steps[6].size = 4;
  steps[6].p = 0.7;
  return steps;
}

TEST(Augment, SameSeedEpochIndexSamePixels) {
  const Augmenter aug(every_step());
  const Image orig = random_image(3 * 12 * 10, 5);
  auto run = [&](uint64_t seed, int64_t epoch, int64_t index) {
    Image im = orig;
    aug.apply(im.data(), 3, 12, 10, seed, epoch, index);
    return im;
  };
  const Image a = run(1, 2, 3);
  run(1, 2, 4);  // other samples in between change nothing
  EXPECT_EQ(run(1, 2, 3), a);
  EXPECT_NE(run(1, 2, 4), a);
  EXPECT_NE(run(1, 3, 3), a);
  EXPECT_NE(run(2, 2, 3), a);
  EXPECT_NE(a, orig);
}

AugmentStep step(AugmentStep::Kind kind) {
  AugmentStep st;
  st.kind = kind;
  st.p = 1.0;
  return st;
}

TEST(Augment, MasksMoveWithTheirPixels) {
  // Each pixel's grey value encodes its label (30 + 20 * label, never 0), so
  // after translate, crop and flip (fill 0) a pixel is 0 exactly where its
  // label became 0 (uncovered), and elsewhere still names its label.
  const int64_t h = 9, w = 11;
  AugmentStep translate = step(AugmentStep::Kind::translate), crop = step(AugmentStep::Kind::crop);
  translate.pixels = 3;
  crop.padding = 2;
  const Augmenter aug({translate, crop, step(AugmentStep::Kind::hflip),
                       step(AugmentStep::Kind::color_jitter), step(AugmentStep::Kind::cutout)});
  // Colour jitter (factors 1) and cutout (size 0) are no-ops here: they must
  // leave the mask alone.
  std::mt19937_64 g(11);
  int64_t uncovered = 0, moved = 0;
  for (int64_t index = 0; index < 40; ++index) {
    Image mask(static_cast<size_t>(h * w)), image(mask.size());
    for (size_t i = 0; i < mask.size(); ++i) {
      mask[i] = static_cast<uint8_t>(g() % 11);
      image[i] = static_cast<uint8_t>(30 + 20 * mask[i]);
    }
    const Image before = mask;
    aug.apply(image.data(), 1, h, w, 5, 0, index, mask.data());
    for (size_t i = 0; i < mask.size(); ++i) {
      if (image[i] == 0) {
        ASSERT_EQ(mask[i], 0) << index << " " << i;
        ++uncovered;
      } else {
        ASSERT_EQ(mask[i], (image[i] - 30) / 20) << index << " " << i;
      }
    }
    moved += mask != before;
  }
  EXPECT_GT(uncovered, 0);
  EXPECT_GT(moved, 30);
}

TEST(Augment, RotateAndScaleTakeTheNearestLabel) {
  // One label over the whole image: wherever the bilinear image is whole
  // (every tap inside), the mask keeps the label; wherever the mask keeps it,
  // the image took some weight from inside (the nearest tap's).
  const int64_t h = 12, w = 10;
  AugmentStep rotate = step(AugmentStep::Kind::rotate), scale = step(AugmentStep::Kind::scale);
  rotate.degrees = 40;
  scale.min_scale = 0.6;
  scale.max_scale = 0.9;
  int64_t whole = 0, outside = 0;
  for (const AugmentStep& st : {rotate, scale}) {
    const Augmenter aug({st});
    for (int64_t index = 0; index < 10; ++index) {
      Image image(static_cast<size_t>(h * w), 90), mask(image.size(), 3);
      aug.apply(image.data(), 1, h, w, 7, 2, index, mask.data());
      for (size_t i = 0; i < mask.size(); ++i) {
        ASSERT_TRUE(mask[i] == 3 || mask[i] == 0) << i;
        if (image[i] == 90) {
          ASSERT_EQ(mask[i], 3) << augment_kind_name(st.kind) << " " << i;
        }
        if (mask[i] == 3) {
          ASSERT_GT(image[i], 0) << augment_kind_name(st.kind) << " " << i;
        }
        whole += image[i] == 90;
        outside += mask[i] == 0;
      }
    }
  }
  EXPECT_GT(whole, 0);
  EXPECT_GT(outside, 0);
}

TEST(Augment, BatchLoaderAugmentsByDatasetIndex) {
  Dataset ds;
  ds.images = ops::Tensor::empty({6, 1, 4, 5}, ops::DType::u8);
  const Image pixels = random_image(6 * 20, 6);
  std::copy(pixels.begin(), pixels.end(), ds.images.data<uint8_t>());
  ds.labels = {0, 1, 2, 0, 1, 2};
  ds.num_classes = 3;
  AugmentStep flip;
  flip.kind = AugmentStep::Kind::hflip;
  flip.p = 1.0;
  auto aug = std::make_shared<Augmenter>(std::vector<AugmentStep>{flip});
  for (bool prefetch : {true, false}) {
    BatchLoader loader(
        ds, {.batch_size = 4, .seed = 3, .epoch = 1, .augment = aug, .prefetch = prefetch});
    while (auto b = loader.next()) {
      const std::vector<float> v = b->images.to_vector();
      for (size_t i = 0; i < b->indices.size(); ++i) {
        Image want(pixels.begin() + b->indices[i] * 20, pixels.begin() + b->indices[i] * 20 + 20);
        augment_hflip(want.data(), 1, 4, 5);
        for (size_t j = 0; j < 20; ++j)
          ASSERT_FLOAT_EQ(v[i * 20 + j], static_cast<float>(want[j]) / 255.0f);
      }
    }
  }
  // With masks (segmentation), each sample's mask is flipped with it.
  ds.masks = ops::Tensor::empty({6, 4, 5}, ops::DType::u8);
  const Image labels = random_image(6 * 20, 7);
  std::copy(labels.begin(), labels.end(), ds.masks.data<uint8_t>());
  BatchLoader loader(ds, {.batch_size = 4, .seed = 3, .epoch = 1, .augment = aug});
  int64_t checked = 0;
  while (auto b = loader.next()) {
    const int64_t* m = b->masks.data<int64_t>();
    for (size_t i = 0; i < b->indices.size(); ++i) {
      Image want(labels.begin() + b->indices[i] * 20, labels.begin() + b->indices[i] * 20 + 20);
      augment_hflip(want.data(), 1, 4, 5);
      for (size_t j = 0; j < 20; ++j, ++checked) ASSERT_EQ(m[i * 20 + j], want[j]);
    }
  }
  EXPECT_EQ(checked, 6 * 20);
}

}  // namespace
}  // namespace ringmaster::models
