// Implementation of the shared op-test checks (see op_test_util.h).
#include "op_test_util.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "ops/cpu/memory_format.h"

namespace ringmaster::ops::testing {

std::mt19937_64& rng() {
  static std::mt19937_64 g = [] {
    uint64_t seed =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    if (const char* s = std::getenv("RM_TEST_SEED")) seed = std::strtoull(s, nullptr, 10);
    std::printf("op tests: RM_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
    return std::mt19937_64(seed);
  }();
  return g;
}

Tensor random_tensor(const Shape& shape, float lo, float hi) {
  return Tensor::uniform(shape, rng(), lo, hi);
}

Tensor random_labels(const Shape& shape, int64_t classes, DType dt) {
  Tensor t = Tensor::empty(shape, dt);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = static_cast<int64_t>(rng()() % static_cast<uint64_t>(classes));
    if (dt == DType::i64) {
      t.data<int64_t>()[i] = v;
    } else {
      t.data<int32_t>()[i] = static_cast<int32_t>(v);
    }
  }
  return t;
}

Tensor box_tensor(const std::vector<float>& values) {
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size()) / 4, 4});
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor random_rois(int64_t k, float h, float w) {
  std::uniform_real_distribution<float> ux(-3.0f, w + 3.0f), uy(-3.0f, h + 3.0f);
  Tensor b = Tensor::empty({k, 4});
  float* v = b.data<float>();
  for (int64_t i = 0; i < k; ++i) {
    v[4 * i] = ux(rng());
    v[4 * i + 1] = uy(rng());
    v[4 * i + 2] = ux(rng());
    v[4 * i + 3] = uy(rng());
    if (i % 2 == 0) {  // most boxes the right way round
      if (v[4 * i] > v[4 * i + 2]) std::swap(v[4 * i], v[4 * i + 2]);
      if (v[4 * i + 1] > v[4 * i + 3]) std::swap(v[4 * i + 1], v[4 * i + 3]);
    }
  }
  if (k > 0) {
    v[0] = 2.3f;
    v[1] = 1.7f;
    v[2] = 2.45f;  // 0.15 wide
    v[3] = 1.75f;
  }
  return b;
}

std::vector<int64_t> image_of_each(int64_t k, int64_t n) {
  std::vector<int64_t> b(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) b[static_cast<size_t>(i)] = (i * 7 + 1) % n;
  return b;
}

Tensor int_tensor(const std::vector<int64_t>& values, DType dt, Shape shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  Tensor t = Tensor::empty(shape, dt);
  RM_CHECK(t.numel() == static_cast<int64_t>(values.size()), "int_tensor: ", values.size(),
           " values for shape ", shape_str(shape));
  for (size_t i = 0; i < values.size(); ++i) {
    if (dt == DType::i64)
      t.data<int64_t>()[i] = values[i];
    else
      t.data<int32_t>()[i] = static_cast<int32_t>(values[i]);
  }
  return t;
}

Tensor to_blocked(const Tensor& t) {
  RM_CHECK(t.ndim() == 4 && t.dtype() == DType::f32, "to_blocked needs 4-d f32, got ",
           to_string(t));
  const dnnl::memory::desc blocked(cpu::dims_of(t.shape()), dnnl::memory::data_type::f32,
                                   dnnl::memory::format_tag::nChw16c);
  Tensor b = cpu::to_desc(t, blocked);
  EXPECT_FALSE(b.is_plain());
  return b;
}

double relative_error(const Tensor& got, const RefTensor& want) {
  EXPECT_EQ(shape_str(got.shape()), shape_str(want.shape));
  std::vector<float> g = got.to_vector();
  if (g.size() != want.v.size()) return INFINITY;
  double max_diff = 0.0, max_ref = 1e-3;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i])) return INFINITY;
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(g[i]) - want.v[i]));
    max_ref = std::max(max_ref, std::fabs(want.v[i]));
  }
  return max_diff / max_ref;
}

void expect_close(const Tensor& got, const RefTensor& want, double tol, const std::string& what) {
  const double err = relative_error(got, want);
  EXPECT_LE(err, tol) << what << ": relative error " << err << " > " << tol << " (shape "
                      << shape_str(want.shape) << ")";
}

namespace {
double weighted_sum(const RefTensor& y, const RefTensor& r) {
  double s = 0.0;
  for (size_t i = 0; i < y.v.size(); ++i) s += y.v[i] * r.v[i];
  return s;
}
}  // namespace

void check_gradients(const OurFn& f_ours, const RefFn& f_ref, const std::vector<Tensor>& inputs,
                     const std::vector<bool>& check, double tol, int max_elems) {
  ASSERT_EQ(inputs.size(), check.size());
  // Ours: leaves that require grad, one backward with a random upstream R.
  std::vector<Tensor> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].defined() ? inputs[i].detach() : Tensor();
    if (t.defined() && check[i]) t.set_requires_grad(true);
    leaves.push_back(t);
  }
  Tensor y = f_ours(leaves);
  Tensor r = random_tensor(y.shape());
  y.backward(r);
  const RefTensor rr = reference::from_tensor(r);

  std::vector<RefTensor> ref_in;
  for (const Tensor& t : inputs)
    ref_in.push_back(t.defined() ? reference::from_tensor(t) : RefTensor());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!check[i]) continue;
    ASSERT_TRUE(leaves[i].grad().defined()) << "input " << i << " got no gradient";
    const std::vector<float> ours = leaves[i].grad().to_vector();
    const int64_t n = ref_in[i].numel();
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    if (n > max_elems) {
      std::shuffle(idx.begin(), idx.end(), rng());
      idx.resize(static_cast<size_t>(max_elems));
    }
    double max_diff = 0.0, max_ref = 1e-2;
    int64_t worst = -1;
    for (int64_t j : idx) {
      const double h = 1e-6 * std::max(1.0, std::fabs(ref_in[i].v[j]));
      std::vector<RefTensor> plus = ref_in, minus = ref_in;
      plus[i].v[j] += h;
      minus[i].v[j] -= h;
      const double num = (weighted_sum(f_ref(plus), rr) - weighted_sum(f_ref(minus), rr)) / (2 * h);
      const double diff = std::fabs(num - ours[j]);
      if (diff > max_diff) {
        max_diff = diff;
        worst = j;
      }
      max_ref = std::max(max_ref, std::fabs(num));
    }
    EXPECT_LE(max_diff / max_ref, tol)
        << "gradient of input " << i << ": worst element " << worst << " differs by " << max_diff
        << " (scale " << max_ref << ")";
  }
}

}  // namespace ringmaster::ops::testing
