// SGD and Adam/AdamW updates on CUDA against the CPU kernels: the same
// inputs must give bit-identical parameters and state (the CUDA kernels round
// every operation like the CPU loop does), for every branch of the rules.
#include <cmath>
#include <cstring>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/optimizer_update.h"

namespace ringmaster::ops {
namespace {

using testing::random_tensor;

class CudaOptimizerUpdate : public testing::CudaTest {};

void expect_same_bits(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  Tensor g = gpu.to(Device::cpu());
  ASSERT_EQ(g.nbytes(), cpu.nbytes());
  const float* a = g.data<float>();
  const float* b = cpu.data<float>();
  int64_t differ = 0, first = -1;
  for (int64_t i = 0; i < cpu.numel(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      if (first < 0) first = i;
      ++differ;
    }
  }
  EXPECT_EQ(differ, 0) << what << ": " << differ << " elements differ, first " << first << " ("
                       << (first >= 0 ? a[first] : 0.0f) << " vs " << (first >= 0 ? b[first] : 0.0f)
                       << ")";
}

TEST_F(CudaOptimizerUpdate, SgdEveryBranch) {
  const Shape s{1000, 37};
  for (int variant = 0; variant < 4; ++variant) {
    SgdStep st;
    st.lr = 0.05f;
    st.weight_decay = variant % 2 ? 1e-3f : 0.0f;
    st.momentum = variant >= 1 ? 0.9f : 0.0f;
    st.one_minus_dampening = variant == 2 ? 0.75f : 1.0f;
    st.nesterov = variant == 3;
    Tensor p = random_tensor(s), g = random_tensor(s), buf = random_tensor(s);
    Tensor pg = p.to(Device::cuda()), gg = g.to(Device::cuda()), bg = buf.to(Device::cuda());
    for (int step = 0; step < 3; ++step) {
      st.first = step == 0 && variant == 1;
      sgd_update(p, g, st.momentum != 0.0f ? buf : Tensor(), st);
      sgd_update(pg, gg, st.momentum != 0.0f ? bg : Tensor(), st);
    }
    expect_same_bits(pg, p, "sgd variant " + std::to_string(variant) + " parameter");
    if (st.momentum != 0.0f) expect_same_bits(bg, buf, "sgd momentum buffer");
  }
}

TEST_F(CudaOptimizerUpdate, AdamAndAdamW) {
  const Shape s{333, 71};
  for (bool decoupled : {false, true}) {
    Tensor p = random_tensor(s), g = random_tensor(s);
    Tensor m = Tensor::zeros(s), v = Tensor::zeros(s);
    Tensor pg = p.to(Device::cuda()), gg = g.to(Device::cuda());
    Tensor mg = m.to(Device::cuda()), vg = v.to(Device::cuda());
    for (int t = 1; t <= 4; ++t) {
      AdamStep st;
      st.step_size = static_cast<float>(1e-3 / (1.0 - std::pow(0.9, t)));
      st.bias2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(0.999, t)));
      st.l2 = decoupled ? 0.0f : 1e-2f;
      st.shrink = decoupled ? static_cast<float>(1.0 - 1e-3 * 1e-2) : 1.0f;
      adam_update(p, g, m, v, st);
      adam_update(pg, gg, mg, vg, st);
    }
    const std::string what = decoupled ? "adamw " : "adam ";
    expect_same_bits(pg, p, what + "parameter");
    expect_same_bits(mg, m, what + "m");
    expect_same_bits(vg, v, what + "v");
  }
}

TEST_F(CudaOptimizerUpdate, GradNormMatchesTheCpu) {
  std::vector<Tensor> cpu = {random_tensor({1}), random_tensor({37, 5}), random_tensor({300007})};
  std::vector<Tensor> gpu;
  for (const Tensor& t : cpu) gpu.push_back(t.to(Device::cuda()));
  const double want = grad_norm(cpu);
  EXPECT_NEAR(grad_norm(gpu), want, 1e-9 * want);  // double sums in another order
  gpu.push_back(cpu[0]);                           // and across devices: one value per device
  cpu.push_back(cpu[0]);
  EXPECT_NEAR(grad_norm(gpu), grad_norm(cpu), 1e-9 * want);
}

}  // namespace
}  // namespace ringmaster::ops
