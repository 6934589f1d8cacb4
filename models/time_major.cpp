// time_major_tokens (see time_major.h).
#include "models/time_major.h"

#include "ops/check.h"

namespace ringmaster::models {

ops::Tensor time_major_tokens(const ops::Tensor& tokens, int64_t first) {
  RM_THROW_IF(!tokens.defined() || tokens.ndim() != 2 || tokens.dtype() != ops::DType::i64 ||
                  first < 0 || first >= tokens.dim(1),
              "time_major_tokens: want (N, L) i64 token rows with L > ", first, ", got ",
              tokens.defined() ? ops::to_string(tokens) : std::string("nothing"));
  const ops::Tensor ids = tokens.to(ops::Device::cpu()).to_plain();
  const int64_t n = ids.dim(0), l = ids.dim(1), t = l - first;
  ops::Tensor out = ops::Tensor::empty({t, n}, ops::DType::i64);
  const int64_t* src = ids.data<int64_t>();
  int64_t* dst = out.data<int64_t>();
  for (int64_t s = 0; s < t; ++s)
    for (int64_t i = 0; i < n; ++i) dst[s * n + i] = src[i * l + first + s];
  return out;
}

}  // namespace ringmaster::models
