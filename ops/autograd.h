// Define-by-run autograd. Every differentiable op that runs while grad mode is
// on, with at least one input that requires grad, records a Node holding what
// its backward needs; Tensor::backward() walks the recorded graph in reverse
// topological order and accumulates gradients into leaf tensors' .grad().
// Nodes have one output (every op here does). Not thread-safe per graph;
// grad mode is per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

class Node {
 public:
  virtual ~Node() = default;
  // Gradients with respect to each input (an undefined Tensor where an input
  // needs none), given the gradient of the output.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  virtual const char* name() const = 0;

  // The op's inputs, in order (edges of the graph).
  std::vector<Tensor> inputs;
};

// The node nearly every op records: its backward is a function of the output
// gradient (and, when it takes them, of the node's inputs), the state it needs
// captured by value. `name` must outlive the node (a string literal).
template <class F>
class FunctionNode : public Node {
 public:
  FunctionNode(const char* name, F f) : name_(name), f_(std::move(f)) {}
  std::vector<Tensor> backward(const Tensor& grad_output) override {
    if constexpr (std::is_invocable_v<F&, const Tensor&, const std::vector<Tensor>&>)
      return f_(grad_output, inputs);
    else
      return f_(grad_output);
  }
  const char* name() const override { return name_; }

 private:
  const char* name_;
  F f_;
};

// make_shared<FunctionNode>: record(y, backward_node("ReluBackward", [y](const
// Tensor& dy) { ... }), {x}).
template <class F>
std::shared_ptr<Node> backward_node(const char* name, F f) {
  return std::make_shared<FunctionNode<F>>(name, std::move(f));
}

// True while ops record graph nodes on this thread (default true).
bool grad_mode_enabled();

// Turns recording off for its lifetime (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when any of the tensors requires grad and grad mode is on.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Records node as the producer of out (sets inputs and out.grad_fn) when any
// input requires grad; returns out. Ops call this once at the end of forward.
Tensor record(Tensor out, std::shared_ptr<Node> node, std::vector<Tensor> inputs);

// Called on the backward thread, once per leaf tensor per backward pass, as
// soon as its .grad() is final: every recorded use of it has been processed.
// Leaves no gradient reached are not reported. Data-parallel training starts
// a bucket's all-reduce from here while backward goes on (as DDP's hooks do).
using LeafGradHook = std::function<void(const Tensor& leaf)>;

// Installs a hook for backward passes run on this thread during its lifetime
// (the previous one comes back after).
class LeafGradHookGuard {
 public:
  explicit LeafGradHookGuard(LeafGradHook hook);
  ~LeafGradHookGuard();
  LeafGradHookGuard(const LeafGradHookGuard&) = delete;
  LeafGradHookGuard& operator=(const LeafGradHookGuard&) = delete;

 private:
  LeafGradHook previous_;
};

// Adds b into a where both may be blocked; returns the sum (a may be reused).
Tensor accumulate(const Tensor& a, const Tensor& b);

}  // namespace ringmaster::ops
