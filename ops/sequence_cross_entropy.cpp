// sequence_cross_entropy (see sequence_cross_entropy.h): the kept rows of
// the flattened logits through embedding, then softmax_cross_entropy.
#include "ops/sequence_cross_entropy.h"

#include <string>
#include <vector>

#include "ops/embedding.h"
#include "ops/reshape.h"
#include "ops/softmax.h"

namespace ringmaster::ops {
namespace {

Tensor i64_tensor(const std::vector<int64_t>& v, Device device) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t.to(device);
}

}  // namespace

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, int64_t pad_index) {
  RM_CHECK(logits.dtype() == DType::f32 && logits.ndim() >= 2,
           "sequence_cross_entropy needs f32 logits (..., V), got ", to_string(logits));
  RM_CHECK(targets.dtype() == DType::i64 || targets.dtype() == DType::i32,
           "sequence_cross_entropy needs i64 or i32 targets, got ", to_string(targets));
  const Shape& ls = logits.shape();
  RM_CHECK(targets.shape() == Shape(ls.begin(), ls.end() - 1), "sequence_cross_entropy: targets ",
           shape_str(targets.shape()), " for logits ", shape_str(ls),
           "; want the logits' shape without its last dim");
  RM_CHECK(targets.device() == logits.device(), "sequence_cross_entropy: logits on ",
           logits.device().str(), ", targets on ", targets.device().str());
  const int64_t vocab = ls.back(), rows = targets.numel();
  const Tensor host = targets.to(Device::cpu()).to_plain();
  std::vector<int64_t> kept, labels;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = host.dtype() == DType::i64 ? host.data<int64_t>()[i]
                                                 : static_cast<int64_t>(host.data<int32_t>()[i]);
    if (t == pad_index) continue;
    RM_THROW_IF(t < 0 || t >= vocab, "sequence_cross_entropy: target ", t, " at position ", i,
                " is outside [0, ", vocab, ") and is not the pad index ", pad_index);
    kept.push_back(i);
    labels.push_back(t);
  }
  RM_THROW_IF(kept.empty(), "sequence_cross_entropy: all ", rows, " targets are the pad index ",
              pad_index, " (a mean over nothing)");
  const Tensor flat = reshape(logits, {rows, vocab});
  const Tensor label_tensor = i64_tensor(labels, logits.device());
  if (static_cast<int64_t>(kept.size()) == rows) return softmax_cross_entropy(flat, label_tensor);
  return softmax_cross_entropy(embedding(flat, i64_tensor(kept, logits.device())), label_tensor);
}

}  // namespace ringmaster::ops
