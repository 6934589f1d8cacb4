// Selective search (Uijlings et al. 2013), the region proposals of the
// original R-CNN: the image over-segmented by Felzenszwalb and
// Huttenlocher's graph-based method (2004), then neighbouring regions merged
// greedily, most similar first, until one is left; every region met on the
// way (the segments and each merge) proposes its bounding box.
// Similarity is the sum of four measures in [0, 1]: colour (intersection of
// 25-bin histograms per channel), texture (intersection of histograms of
// gradient orientation (8) by magnitude (10) per channel, Sobel gradients
// standing in for the paper's Gaussian derivatives), size (small regions
// merge first) and fill (regions whose box they would fill well). One
// colour space (the image's) and several k, not the paper's whole
// diversified ensemble. Pure function; no state, thread-safe; CPU, blocks for a few
// milliseconds per 128 px image.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace ringmaster::models {

struct SelectiveSearchOptions {
  // Felzenszwalb's scales, one hierarchy each (larger: larger segments); the
  // paper's diversification over k, in one colour space.
  std::vector<double> ks = {25.0, 50.0, 100.0};
  double sigma = 0.8;     // Gaussian smoothing before segmenting (0: none)
  int64_t min_size = 20;  // segments smaller than this join a neighbour
  double min_side = 4.0;  // proposals with a side under this (pixels) are left out
  int64_t max_proposals = 500;
};

using Box4 = std::array<float, 4>;  // x1, y1, x2, y2; a pixel (x, y) covers [x, x + 1)

// image: (c, h, w) u8, channel-major. Returns distinct boxes, highest in
// the hierarchies first (rank by rank: each k's last merge, then the ones
// before, ..., then the segments), at most max_proposals.
std::vector<Box4> selective_search(const uint8_t* image, int64_t c, int64_t h, int64_t w,
                                   const SelectiveSearchOptions& o);

// The graph-based segmentation alone: a segment id per pixel (h * w),
// ids 0..count-1; returns count.
int64_t felzenszwalb_segments(const uint8_t* image, int64_t c, int64_t h, int64_t w, double k,
                              double sigma, int64_t min_size, std::vector<int64_t>& ids);

}  // namespace ringmaster::models
