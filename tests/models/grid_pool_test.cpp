// GridAvgPool2d: each cell's mean against a double-precision reference on odd
// shapes (cells that overlap where H or W is not a multiple of the grid),
// grid 1 is the global pool, the gradient against finite differences, and an
// input smaller than the grid is refused.
#include <gtest/gtest.h>

#include <random>

#include "models/layers.h"
#include "ops/autograd.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

// out[n][(i * g + j) * C + c], PyTorch's adaptive-pool cell bounds, in double.
std::vector<double> reference(const Tensor& x, int64_t g) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  std::vector<double> out;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < g; ++j)
        for (int64_t k = 0; k < c; ++k) {
          const int64_t y0 = i * h / g, y1 = ((i + 1) * h + g - 1) / g;
          const int64_t x0 = j * w / g, x1 = ((j + 1) * w + g - 1) / g;
          double sum = 0.0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx)
              sum += x.data<float>()[((b * c + k) * h + y) * w + xx];
          out.push_back(sum / static_cast<double>((y1 - y0) * (x1 - x0)));
        }
  return out;
}

TEST(GridAvgPool2d, EachCellsMeanMatchesTheReferenceOnOddShapes) {
  std::mt19937_64 rng(1);
  for (const auto& [shape, g] : std::vector<std::pair<ops::Shape, int64_t>>{
           {{2, 3, 7, 5}, 3}, {{1, 4, 8, 8}, 2}, {{3, 2, 5, 9}, 2}, {{1, 1, 3, 3}, 3}}) {
    const Tensor x = Tensor::uniform(shape, rng, -1.0f, 1.0f);
    const Tensor y = GridAvgPool2d(g).forward(x);
    ASSERT_EQ(y.shape(), (ops::Shape{shape[0], g * g * shape[1], 1, 1}));
    const std::vector<double> want = reference(x, g);
    const std::vector<float> got = y.to_vector();
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-6) << "grid " << g << ", output " << i;
  }
}

TEST(GridAvgPool2d, GridOneIsTheGlobalPool) {
  std::mt19937_64 rng(2);
  const Tensor x = Tensor::uniform({2, 3, 6, 5}, rng, -1.0f, 1.0f);
  EXPECT_EQ(GridAvgPool2d(1).forward(x).to_vector(), GlobalAvgPool2d().forward(x).to_vector());
}

TEST(GridAvgPool2d, GradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(3);
  Tensor x = Tensor::uniform({2, 2, 7, 5}, rng, -1.0f, 1.0f);
  x.set_requires_grad(true);
  GridAvgPool2d pool(3);
  const Tensor w = Tensor::uniform({2, 18, 1, 1}, rng, -1.0f, 1.0f);
  const auto objective = [&] {
    const std::vector<double> y = reference(x, 3);
    double s = 0.0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * w.data<float>()[i];
    return s;
  };
  pool.forward(x).backward(w);
  const std::vector<float> g = x.grad().to_vector();
  ops::NoGradGuard no_grad;
  for (int64_t k = 0; k < x.numel(); k += 3) {
    float* p = x.data<float>() + k;
    const float keep = *p;
    *p = keep + 1e-2f;
    const double up = objective();
    *p = keep - 1e-2f;
    const double down = objective();
    *p = keep;
    EXPECT_NEAR(g[static_cast<size_t>(k)], (up - down) / 2e-2, 1e-4) << "element " << k;
  }
}

TEST(GridAvgPool2d, AnInputSmallerThanTheGridIsRefused) {
  std::mt19937_64 rng(4);
  const Tensor x = Tensor::uniform({1, 2, 2, 6}, rng, -1.0f, 1.0f);
  try {
    GridAvgPool2d(3).forward(x);
    FAIL() << "a 2x6 input was pooled to a 3x3 grid";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("H, W >= 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::models
