// What the sequence tasks share: a batch's windows or captions (N, L) read
// as input tokens[:, :L-1] and time-major targets tokens[:, 1:] (T, N), the
// masked cross-entropy of time-major logits (T, N, V) against them, and the
// next-token accuracy they count (pads, id 0, count nothing). Internal to
// the tasks (language_model_task.cpp, captioning_task.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "models/text_corpus.h"
#include "models/time_major.h"
#include "ops/check.h"
#include "ops/sequence_cross_entropy.h"
#include "training/task.h"

namespace ringmaster::training {

// tokens[:, :L-1] of (N, L) i64 on the cpu.
inline ops::Tensor input_tokens(const ops::Tensor& tokens) {
  RM_THROW_IF(!tokens.defined() || tokens.ndim() != 2 || tokens.dim(1) < 2,
              "a sequence task needs token rows of at least 2 tokens");
  const int64_t n = tokens.dim(0), l = tokens.dim(1) - 1;
  ops::Tensor out = ops::Tensor::empty({n, l}, ops::DType::i64);
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(tokens.data<int64_t>() + i * (l + 1), l, out.data<int64_t>() + i * l);
  return out;
}

// tokens[:, 1:] transposed to (L-1, N).
inline ops::Tensor target_tokens(const ops::Tensor& tokens) {
  return models::time_major_tokens(tokens, 1);
}

inline ops::Tensor sequence_loss(const ops::Tensor& logits, const ops::Tensor& tokens,
                                 ops::Device device) {
  const ops::Tensor targets = target_tokens(tokens);
  RM_THROW_IF(
      logits.ndim() != 3 || logits.dim(0) != targets.dim(0) || logits.dim(1) != targets.dim(1),
      "a sequence model's logits must be (T, N, V) = (", targets.dim(0), ", ", targets.dim(1),
      ", V); got ", ops::to_string(logits));
  return ops::sequence_cross_entropy(logits, targets.to(device), models::Vocabulary::kPad);
}

inline void count_next_tokens(const ops::Tensor& logits, const ops::Tensor& tokens, Tally& t) {
  const ops::Tensor l = logits.to(ops::Device::cpu()).to_plain();
  const ops::Tensor want = target_tokens(tokens);
  const int64_t positions = want.numel(), v = l.dim(2);
  for (int64_t p = 0; p < positions; ++p) {
    const int64_t w = want.data<int64_t>()[p];
    if (w == models::Vocabulary::kPad) continue;
    const float* row = l.data<float>() + p * v;
    t.correct += std::max_element(row, row + v) - row == w;
    ++t.units;
  }
}

}  // namespace ringmaster::training
