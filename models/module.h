// Module: the base of every layer and network. It owns named parameters,
// buffers (e.g. BatchNorm running statistics) and child modules under
// PyTorch-style dotted names (`features.0.weight`): enumeration, train/eval,
// freezing by glob, state dicts with shape-checked loading (transfer learning).
// It does no I/O (safetensors.h) and no math (layers.h, the ops).
//
// Ownership: a module holds its tensors by handle (ops::Tensor shares
// storage); named_parameters() and state_dict() hand out handles to the same
// storage, so an optimizer updating them updates the model. Children are held
// by shared_ptr. Not thread-safe: one module tree is used by one thread at a
// time. Nothing here blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/tensor_map.h"
#include "ops/tensor.h"

namespace ringmaster::models {

// What load_state_dict did not match (by name). Shape and dtype mismatches
// are never tolerated: they throw.
struct LoadStateResult {
  std::vector<std::string> missing;     // in the model, not in the state dict
  std::vector<std::string> unexpected;  // in the state dict, not in the model
};

// Glob match of a whole name: `*` any run of characters (dots included), `?`
// any one character; everything else literal.
bool glob_match(const std::string& pattern, const std::string& name);

// What a model reads from a batch: images (N, C, H, W) on the model's
// device, and for sequence models token ids (N, T) i64 on the cpu.
struct ModelInput {
  ops::Tensor images, tokens;
  // Detection in training: (N, M, 4) f32 boxes and (N, M) i64 classes on the
  // cpu, an image's boxes first, the rest class -1 (models::Batch's).
  ops::Tensor boxes, box_classes;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual ops::Tensor forward(const ops::Tensor& x) = 0;
  ops::Tensor operator()(const ops::Tensor& x) { return forward(x); }
  // What training scores: one output per loss term (the loss is their sum),
  // each with autograd. A model trains on its forward output; an ensemble on
  // each trainable member's own output (ensemble.h).
  virtual std::vector<ops::Tensor> training_heads(const ops::Tensor& x) { return {forward(x)}; }
  // The prediction that training accuracy counts, from training_heads' outputs.
  virtual ops::Tensor combine_heads(const std::vector<ops::Tensor>& heads) { return heads.at(0); }
  // forward and training_heads of a batch's input: image models read the
  // images (these defaults); sequence models override both.
  virtual ops::Tensor forward_batch(const ModelInput& in) { return forward(in.images); }
  virtual std::vector<ops::Tensor> training_heads_batch(const ModelInput& in) {
    return training_heads(in.images);
  }

  // Registration. Names are non-empty and contain no '.'; a name is unique
  // among this module's parameters, buffers and children (a caller bug
  // aborts), except that register_module with the name of an existing child
  // replaces that child in place (same position in the forward order of a
  // Sequential). Parameters get requires_grad on; buffers off. Returns the
  // registered handle (it shares the
  // stored tensor; keep it as the layer's member).
  ops::Tensor register_parameter(const std::string& name, ops::Tensor t);
  ops::Tensor register_buffer(const std::string& name, ops::Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    register_child(name, m);
    return m;
  }

  // Enumeration, own entries first (registration order), then each child's
  // under "child." in registration order.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<ops::Tensor> parameters() const;
  // Direct children, and every module of the tree (this one first, named "").
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  std::vector<std::pair<std::string, Module*>> named_modules();
  // The direct child of that name, or null.
  std::shared_ptr<Module> child(const std::string& name) const;

  // Mode, recursive. Dropout and BatchNorm behave differently in eval.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Sets requires_grad off (freeze) or on (unfreeze) on every parameter whose
  // full dotted name matches the glob pattern; returns how many matched.
  size_t freeze(const std::string& pattern);
  size_t unfreeze(const std::string& pattern);

  // Parameters and buffers by full name; the tensors share the model's
  // storage (detached handles: no autograd history).
  TensorMap state_dict() const;
  // Copies each entry of `state` into the model's tensor of that name, in
  // place (handles held by an optimizer stay valid). Shapes must match
  // exactly and dtypes must match, except f16 <-> f32 which are converted;
  // a mismatch throws ops::Error naming the entry and both shapes (or
  // dtypes), before anything is copied. strict: a missing or unexpected name
  // throws ops::Error listing them; otherwise they are returned.
  LoadStateResult load_state_dict(const TensorMap& state, bool strict = true);

  // Elements in all parameters (trainable_only: those with requires_grad).
  int64_t num_parameters(bool trainable_only = false) const;

  // Moves every parameter, buffer and existing grad of the tree to `device`,
  // in place (ops::Tensor::set_data): the layers' members, named_parameters()
  // handles and an optimizer's handles stay valid and now hold device memory.
  // Optimizer state is not moved: move the model before making the
  // optimizer. Blocks while copying; a no-op for tensors already there.
  void to(ops::Device device);
  // The device of the first parameter (or buffer); cpu when there is none.
  ops::Device device() const;

 private:
  void register_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, NamedTensors& out) const;
  void collect_modules(const std::string& prefix,
                       std::vector<std::pair<std::string, Module*>>& out);
  size_t set_requires_grad(const std::string& pattern, bool on);

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace ringmaster::models
