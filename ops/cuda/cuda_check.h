// CUDA_CHECK(call): aborts with file, line, the call and the CUDA error text.
// Internal to ops/cuda/.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#define CUDA_CHECK(call)                                                               \
  do {                                                                                 \
    cudaError_t err_ = (call);                                                         \
    if (err_ != cudaSuccess) {                                                         \
      std::fprintf(stderr, "%s:%d: CUDA error in %s: %s\n", __FILE__, __LINE__, #call, \
                   cudaGetErrorString(err_));                                          \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
