// roi_pool CUDA kernels: one thread per output element (box, channel, bin),
// its cells from roi_pool_window.h (the CPU's); backward sends each bin's
// gradient to its recorded maximum with f32 atomicAdd, so the sum order
// (and the last bits) of cells shared by boxes may differ from run to run.
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"
#include "ops/roi_pool.h"
#include "ops/roi_pool_window.h"

namespace ringmaster::ops {
namespace {

struct Dims {
  int64_t k, c, h, w, oh, ow;
};

__global__ void roi_pool_fwd(const float* x, const float* boxes, const int64_t* batch, float* y,
                             int64_t* argmax, Dims s, float scale) {
  const int64_t total = s.k * s.c * s.oh * s.ow;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t px = e % s.ow, py = (e / s.ow) % s.oh, ch = (e / (s.ow * s.oh)) % s.c;
    const int64_t r = e / (s.ow * s.oh * s.c);
    const RoiPoolWindow win = roi_pool_window(boxes + 4 * r, scale, s.oh, s.ow, py, px, s.h, s.w);
    const float* plane = x + (batch[r] * s.c + ch) * s.h * s.w;
    float best = win.empty() ? 0.0f : -3.402823466e38f;
    int64_t at = -1;
    for (int64_t yy = win.y0; yy < win.y1; ++yy)
      for (int64_t xx = win.x0; xx < win.x1; ++xx)
        if (plane[yy * s.w + xx] > best || at < 0) {
          best = plane[yy * s.w + xx];
          at = yy * s.w + xx;
        }
    y[e] = best;
    argmax[e] = at;
  }
}

__global__ void roi_pool_bwd(const float* dy, const int64_t* argmax, const int64_t* batch,
                             float* dx, int64_t total, int64_t c, int64_t bins, int64_t hw) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x) {
    if (argmax[e] < 0) continue;
    const int64_t ch = (e / bins) % c, r = e / (bins * c);
    atomicAdd(dx + (batch[r] * c + ch) * hw + argmax[e], dy[e]);
  }
}

void roi_pool_forward_cuda(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                           const RoiPoolParams& p, const Tensor& y, const Tensor& argmax) {
  const Dims s{boxes.dim(0), x.dim(1), x.dim(2), x.dim(3), p.output_h, p.output_w};
  const int64_t total = s.k * s.c * s.oh * s.ow;
  if (total == 0) return;
  cuda::set_device(x.device().index);
  roi_pool_fwd<<<cuda::blocks_for(total), 256>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(boxes.raw()),
      static_cast<const int64_t*>(batch.raw()), static_cast<float*>(y.raw()),
      static_cast<int64_t*>(argmax.raw()), s, static_cast<float>(p.spatial_scale));
  CUDA_CHECK_LAUNCH();
}

void roi_pool_backward_cuda(const Tensor& dy, const Tensor& argmax, const Tensor& batch,
                            const Tensor& dx) {
  cuda::set_device(dx.device().index);
  CUDA_CHECK(cudaMemsetAsync(dx.raw(), 0, dx.nbytes()));
  const int64_t total = dy.numel();
  if (total == 0) return;
  roi_pool_bwd<<<cuda::blocks_for(total), 256>>>(
      static_cast<const float*>(dy.raw()), static_cast<const int64_t*>(argmax.raw()),
      static_cast<const int64_t*>(batch.raw()), static_cast<float*>(dx.raw()), total, dy.dim(1),
      dy.dim(2) * dy.dim(3), dx.dim(2) * dx.dim(3));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(RoiPoolKernels, cuda, {roi_pool_forward_cuda, roi_pool_backward_cuda});

}  // namespace ringmaster::ops
