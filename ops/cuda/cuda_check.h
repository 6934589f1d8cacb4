// CUDA_CHECK(call): throws ops::Error naming the call, the CUDA error text,
// file and line, so the task fails its job with the library's message and
// the worker process carries on (a task is a thread of the worker).
// Internal to ops/cuda/. Destructors do not use it (they ignore errors).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "ops/check.h"

namespace ringmaster::ops::cuda {

// "<library> error in <call>: <text> (<file>:<line>)", thrown as ops::Error.
[[noreturn]] inline void throw_library_error(const char* library, const char* call,
                                             const char* text, const char* file, int line) {
  throw Error(std::string(library) + " error in " + call + ": " + (text ? text : "(no text)") +
              " (" + file + ":" + std::to_string(line) + ")");
}

}  // namespace ringmaster::ops::cuda

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    cudaError_t err_ = (call);                                                              \
    if (err_ != cudaSuccess)                                                                \
      ::ringmaster::ops::cuda::throw_library_error("CUDA", #call, cudaGetErrorString(err_), \
                                                   __FILE__, __LINE__);                     \
  } while (0)
