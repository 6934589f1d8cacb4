// roi_align CUDA kernels: one thread per output element (box, channel, bin),
// the samples and taps from roi_align_sampling.h (the CPU's); backward
// spreads each bin's gradient with f32 atomicAdd, so the sum order (and the
// last bits) may differ from run to run; the CPU's is fixed.
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"
#include "ops/roi_align.h"
#include "ops/roi_align_sampling.h"

namespace ringmaster::ops {
namespace {

struct Shape4 {
  int64_t k, c, h, w, oh, ow;
};

// Output element e of (K, C, OH, OW): its box, channel and bin, the box's
// bins on the map, and the offset of its (image, channel) plane.
struct Element {
  int64_t r, ch, py, px, plane;
  RoiBins bins;
};

__device__ Element element_at(int64_t e, const float* boxes, const int64_t* batch, const Shape4& s,
                              const RoiAlignParams& p) {
  Element el;
  el.px = e % s.ow;
  el.py = (e / s.ow) % s.oh;
  el.ch = (e / (s.ow * s.oh)) % s.c;
  el.r = e / (s.ow * s.oh * s.c);
  el.bins = roi_bins(boxes + 4 * el.r, static_cast<float>(p.spatial_scale), s.oh, s.ow,
                     p.sampling_ratio, p.aligned);
  el.plane = (batch[el.r] * s.c + el.ch) * s.h * s.w;
  return el;
}

__global__ void roi_align_fwd(const float* x, const float* boxes, const int64_t* batch, float* y,
                              Shape4 s, RoiAlignParams p) {
  const int64_t total = s.k * s.c * s.oh * s.ow;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x) {
    const Element el = element_at(e, boxes, batch, s, p);
    const float* plane = x + el.plane;
    float sum = 0.0f;
    for_each_tap(el.bins, el.py, el.px, s.h, s.w,
                 [&](int64_t at, float wt) { sum += wt * plane[at]; });
    y[e] = sum / el.bins.count;
  }
}

__global__ void roi_align_bwd(const float* dy, const float* boxes, const int64_t* batch, float* dx,
                              Shape4 s, RoiAlignParams p) {
  const int64_t total = s.k * s.c * s.oh * s.ow;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x) {
    const Element el = element_at(e, boxes, batch, s, p);
    float* plane = dx + el.plane;
    const float share = dy[e] / el.bins.count;
    for_each_tap(el.bins, el.py, el.px, s.h, s.w,
                 [&](int64_t at, float wt) { atomicAdd(plane + at, wt * share); });
  }
}

Shape4 shape_of(const Tensor& boxes, const Tensor& map, const RoiAlignParams& p) {
  return {boxes.dim(0), map.dim(1), map.dim(2), map.dim(3), p.output_h, p.output_w};
}

void roi_align_forward_cuda(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                            const RoiAlignParams& p, const Tensor& y) {
  const Shape4 s = shape_of(boxes, x, p);
  const int64_t total = s.k * s.c * s.oh * s.ow;
  if (total == 0) return;
  cuda::set_device(x.device().index);
  roi_align_fwd<<<cuda::blocks_for(total), 256>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(boxes.raw()),
      static_cast<const int64_t*>(batch.raw()), static_cast<float*>(y.raw()), s, p);
  CUDA_CHECK_LAUNCH();
}

void roi_align_backward_cuda(const Tensor& dy, const Tensor& boxes, const Tensor& batch,
                             const RoiAlignParams& p, const Tensor& dx) {
  const Shape4 s = shape_of(boxes, dx, p);
  cuda::set_device(dx.device().index);
  CUDA_CHECK(cudaMemsetAsync(dx.raw(), 0, dx.nbytes()));
  const int64_t total = s.k * s.c * s.oh * s.ow;
  if (total == 0) return;
  roi_align_bwd<<<cuda::blocks_for(total), 256>>>(
      static_cast<const float*>(dy.raw()), static_cast<const float*>(boxes.raw()),
      static_cast<const int64_t*>(batch.raw()), static_cast<float*>(dx.raw()), s, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(RoiAlignKernels, cuda, {roi_align_forward_cuda, roi_align_backward_cuda});

}  // namespace ringmaster::ops
