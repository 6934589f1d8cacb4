// Implementation of the CUDA op-test helpers (see cuda_test_util.h).
#include "cuda_test_util.h"

#include <algorithm>
#include <cmath>

#include "../op_test_util.h"
#include "ops/autograd.h"
#include "ops/cast.h"
#include "ops/device_memory.h"

namespace ringmaster::ops::testing {

void CudaTest::SetUp() {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: " << cuda_unavailable_reason();
  set_cuda_alloc_poison(true);
}

void CudaTest::TearDown() { set_cuda_alloc_poison(false); }

double relative_error(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(shape_str(got.shape()), shape_str(want.shape()));
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  if (g.size() != w.size()) return INFINITY;
  double max_diff = 0.0, max_ref = 1e-3;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) != std::isnan(w[i])) return INFINITY;
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(g[i]) - w[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(w[i])));
  }
  return max_diff / max_ref;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  const double err = relative_error(got, want);
  EXPECT_LE(err, tol) << what << ": relative error " << err << " > " << tol << " (shape "
                      << shape_str(want.shape()) << ")";
}

void compare_with_cpu(const Fn& f, const std::vector<Tensor>& cpu_inputs,
                      const std::vector<bool>& grad, double fwd_tol, double bwd_tol,
                      const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(cpu_inputs.size(), grad.size());
  std::vector<Tensor> cpu, gpu;
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    const Tensor& t = cpu_inputs[i];
    Tensor c = t.defined() ? t.detach() : Tensor();
    Tensor g = t.defined() ? t.to(Device::cuda()) : Tensor();
    if (t.defined() && grad[i]) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu.push_back(c);
    gpu.push_back(g);
  }
  Tensor y_cpu = f(cpu);
  Tensor y_gpu = f(gpu);
  ASSERT_TRUE(y_gpu.device().is_cuda()) << to_string(y_gpu);
  expect_close(y_gpu, y_cpu, fwd_tol, what + " forward");
  if (std::none_of(grad.begin(), grad.end(), [](bool b) { return b; })) return;

  Tensor r = random_tensor(y_cpu.shape());
  y_cpu.backward(r);
  y_gpu.backward(r.to(Device::cuda()));
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!grad[i] || !cpu[i].defined()) continue;
    ASSERT_TRUE(gpu[i].grad().defined()) << what << ": input " << i << " got no CUDA gradient";
    ASSERT_TRUE(cpu[i].grad().defined()) << what << ": input " << i << " got no CPU gradient";
    EXPECT_TRUE(gpu[i].grad().device().is_cuda()) << to_string(gpu[i].grad());
    expect_close(gpu[i].grad(), cpu[i].grad(), bwd_tol,
                 what + " gradient of input " + std::to_string(i));
  }
}

namespace {
// The f16-representable neighbour of every value of t (f32, cpu).
Tensor round_to_half(const Tensor& t) {
  NoGradGuard no_grad;
  return cast(cast(t, DType::f16), DType::f32);
}
}  // namespace

void compare_half_with_cpu(const Fn& f, const std::vector<Tensor>& cpu_inputs,
                           const std::vector<bool>& half, const std::vector<bool>& grad,
                           double fwd_tol, double bwd_tol, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(cpu_inputs.size(), half.size());
  ASSERT_EQ(cpu_inputs.size(), grad.size());
  std::vector<Tensor> cpu, gpu;
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    const Tensor& t = cpu_inputs[i];
    if (!t.defined()) {
      cpu.emplace_back();
      gpu.emplace_back();
      continue;
    }
    Tensor c = half[i] ? round_to_half(t) : t.detach();
    Tensor g = c.to(Device::cuda());
    if (half[i]) {
      NoGradGuard no_grad;
      g = cast(g, DType::f16);
    }
    g = g.detach();
    if (grad[i]) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu.push_back(c);
    gpu.push_back(g);
  }
  Tensor y_cpu = f(cpu);
  Tensor y_gpu = f(gpu);
  ASSERT_TRUE(y_gpu.device().is_cuda()) << to_string(y_gpu);
  expect_close(y_gpu, y_cpu, fwd_tol, what + " forward");
  if (std::none_of(grad.begin(), grad.end(), [](bool b) { return b; })) return;

  Tensor r = round_to_half(random_tensor(y_cpu.shape()));
  Tensor r_gpu = r.to(Device::cuda());
  if (y_gpu.dtype() == DType::f16) {
    NoGradGuard no_grad;
    r_gpu = cast(r_gpu, DType::f16);
  }
  y_cpu.backward(r);
  y_gpu.backward(r_gpu);
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!grad[i] || !cpu[i].defined()) continue;
    ASSERT_TRUE(gpu[i].grad().defined()) << what << ": input " << i << " got no CUDA gradient";
    EXPECT_EQ(gpu[i].grad().dtype(), gpu[i].dtype()) << what << ": input " << i;
    expect_close(gpu[i].grad(), cpu[i].grad(), bwd_tol,
                 what + " gradient of input " + std::to_string(i));
  }
}

}  // namespace ringmaster::ops::testing
