// RM_HOST_DEVICE: marks an inline function that both the CPU kernels and
// the CUDA kernels (nvcc) compile, so that the two backends share one
// formula (roi_align's sampling, the element-wise losses' terms).
#pragma once

#ifdef __CUDACC__
#define RM_HOST_DEVICE __host__ __device__
#else
#define RM_HOST_DEVICE
#endif
