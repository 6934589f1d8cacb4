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

// RM_LIBRARY_CHECK(library, call, ok, text): runs call; a status other than
// ok throws naming the call and text(status). One mechanism for every
// library (CUDNN_CHECK and CUBLAS_CHECK in cuda_context.h use it too).
#define RM_LIBRARY_CHECK(library, call, ok, text)                                                  \
  do {                                                                                             \
    const auto st_ = (call);                                                                       \
    if (st_ != (ok))                                                                               \
      ::ringmaster::ops::cuda::throw_library_error(library, #call, text(st_), __FILE__, __LINE__); \
  } while (0)

#define CUDA_CHECK(call) RM_LIBRARY_CHECK("CUDA", call, cudaSuccess, cudaGetErrorString)
