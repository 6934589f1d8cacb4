// Shared checks for op tests: random inputs, forward against the reference
// (relative error), and backward against central finite differences computed
// in double through the reference kernel.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "ops/autograd.h"
#include "ops/reference/ref_tensor.h"
#include "ops/tensor.h"

namespace ringmaster::ops::testing {

using reference::RefTensor;

// A fresh generator per test, seeded from the clock unless RM_TEST_SEED is
// set; the seed is printed so a failure can be replayed.
std::mt19937_64& rng();

Tensor random_tensor(const Shape& shape, float lo = -1.0f, float hi = 1.0f);

// Class labels uniform in [0, classes), i64 or i32, on the CPU.
Tensor random_labels(const Shape& shape, int64_t classes, DType dt = DType::i64);

// These integers (labels, indices) as an i64 or i32 tensor of that shape (a
// 1-d one when the shape is empty), on the CPU.
Tensor int_tensor(const std::vector<int64_t>& values, DType dt, Shape shape = {});

// (K, 4) f32 boxes on the CPU from K x 4 values (x1, y1, x2, y2 each).
Tensor box_tensor(const std::vector<float>& values);

// k RoI boxes on an h x w input image (the RoI ops' tests): random corners
// in [-3, size + 3] from rng() (so some cross or leave the map, and every
// other one is inverted), the first a tiny 0.15 x 0.05 box.
Tensor random_rois(int64_t k, float h, float w);
// An image index in [0, n) for each of k boxes, spread over the images.
std::vector<int64_t> image_of_each(int64_t k, int64_t n);

// The values of a 4-d f32 tensor (N, C, H, W) in oneDNN's blocked nChw16c
// layout (channels padded to 16 with zeros), as a conv output would hold them.
Tensor to_blocked(const Tensor& t);

// max |got - want| / max(max |want|, 1e-3); a single relative figure.
double relative_error(const Tensor& got, const RefTensor& want);

// Expects relative_error(got, want) <= tol, naming what differs.
void expect_close(const Tensor& got, const RefTensor& want, double tol, const std::string& what);

// f_ours: the op under test on Tensors; f_ref: the same op in the reference.
// Checks d(sum(R * f))/d(input_i) for every input in `inputs` marked to
// check, using a random R, against central differences of f_ref in double.
// Up to max_elems entries per input are probed (all when the input is small).
using OurFn = std::function<Tensor(const std::vector<Tensor>&)>;
using RefFn = std::function<RefTensor(const std::vector<RefTensor>&)>;
void check_gradients(const OurFn& f_ours, const RefFn& f_ref, const std::vector<Tensor>& inputs,
                     const std::vector<bool>& check, double tol = 2e-3, int max_elems = 64);

}  // namespace ringmaster::ops::testing
