// Backward pass over the recorded graph (see header): a depth-first
// topological order from the root, then one pass in reverse, summing the
// gradients that reach each tensor before its node runs.
#include "ops/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "ops/add.h"
#include "ops/cpu/memory_format.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {
thread_local bool g_grad_mode = true;
thread_local LeafGradHook g_leaf_hook;
}  // namespace

LeafGradHookGuard::LeafGradHookGuard(LeafGradHook hook) : previous_(std::move(g_leaf_hook)) {
  g_leaf_hook = std::move(hook);
}
LeafGradHookGuard::~LeafGradHookGuard() { g_leaf_hook = std::move(previous_); }

bool grad_mode_enabled() { return g_grad_mode; }

NoGradGuard::NoGradGuard() : previous_(g_grad_mode) { g_grad_mode = false; }
NoGradGuard::~NoGradGuard() { g_grad_mode = previous_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_mode) return false;
  for (const Tensor* t : inputs) {
    if (t != nullptr && t->defined() && t->requires_grad()) return true;
  }
  return false;
}

Tensor record(Tensor out, std::shared_ptr<Node> node, std::vector<Tensor> inputs) {
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!g_grad_mode || !any) return out;
  node->inputs = std::move(inputs);
  out.set_grad_fn(std::move(node));
  return out;
}

Tensor accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  RM_CHECK(a.shape() == b.shape(), "gradient shapes differ: ", shape_str(a.shape()), " vs ",
           shape_str(b.shape()));
  RM_CHECK(a.device() == b.device(), "gradients on ", a.device().str(), " and ", b.device().str());
  if (a.device().is_cuda()) {
    // CUDA tensors are plain: the backend's add kernel (f32, or f16 under
    // mixed precision), into a fresh buffer.
    RM_CHECK(a.dtype() == b.dtype() && (a.dtype() == DType::f32 || a.dtype() == DType::f16),
             "gradients must be f32 or f16 of one dtype, got ", to_string(a), " and ",
             to_string(b));
    Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
    KernelTable<AddKernels>::get().on(a.device(), "gradient accumulation").forward(a, b, out);
    return out;
  }
  RM_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32, "gradients must be f32");
  // Same physical layout: add the raw buffers (padding is zero in both).
  Tensor out = a.clone();
  Tensor bb = cpu::to_desc(b, cpu::desc_of(out));
  float* o = static_cast<float*>(out.raw());
  const float* p = static_cast<const float*>(bb.raw());
  const int64_t n = static_cast<int64_t>(out.nbytes() / sizeof(float));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) o[i] += p[i];
  return out;
}

void run_backward(const Tensor& root, const Tensor& root_grad) {
  // Topological order of nodes reachable from root (iterative DFS).
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  struct Frame {
    Node* node;
    size_t next;
  };
  std::vector<Frame> stack;
  if (root.grad_fn()) {
    stack.push_back({root.grad_fn().get(), 0});
    seen.insert(root.grad_fn().get());
  }
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next < f.node->inputs.size()) {
      const Tensor& in = f.node->inputs[f.next++];
      Node* child = in.defined() ? in.grad_fn().get() : nullptr;
      if (child != nullptr && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(f.node);
      stack.pop_back();
    }
  }

  // Gradients waiting for the node that produced each tensor.
  std::unordered_map<const Node*, Tensor> pending;
  if (!root.grad_fn()) {
    if (root.requires_grad()) {
      const_cast<Tensor&>(root).set_grad(accumulate(root.grad(), root_grad.to_plain()));
      if (g_leaf_hook) g_leaf_hook(root);
    }
    return;
  }
  // With a hook: how many recorded uses of each leaf are still to run.
  const LeafGradHook hook = g_leaf_hook;  // a copy: the hook may install another
  std::unordered_map<const TensorImpl*, int64_t> uses_left;
  if (hook) {
    for (Node* node : order)
      for (const Tensor& in : node->inputs)
        if (in.defined() && in.requires_grad() && !in.grad_fn()) ++uses_left[in.id()];
  }
  // After `node` ran (or was skipped): reports the leaves it was the last use of.
  auto used = [&](Node* node) {
    if (!hook) return;
    for (const Tensor& in : node->inputs) {
      if (!in.defined() || !in.requires_grad() || in.grad_fn()) continue;
      if (--uses_left[in.id()] == 0 && in.grad().defined()) hook(in);
    }
  };
  pending[root.grad_fn().get()] = root_grad;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = pending.find(node);
    if (found == pending.end()) {
      used(node);
      continue;
    }
    Tensor g = std::move(found->second);
    pending.erase(found);
    std::vector<Tensor> grads = node->backward(g);
    RM_CHECK(grads.size() == node->inputs.size(), node->name(), " returned ", grads.size(),
             " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor& in = node->inputs[i];
      if (!in.defined() || !in.requires_grad() || !grads[i].defined()) continue;
      RM_CHECK(grads[i].shape() == in.shape(), node->name(), " gradient ", i, " has shape ",
               shape_str(grads[i].shape()), ", input has ", shape_str(in.shape()));
      if (in.grad_fn()) {
        Tensor& slot = pending[in.grad_fn().get()];
        slot = accumulate(slot, grads[i]);
      } else {
        // A leaf owns its .grad(): never alias an upstream buffer that an
        // optimizer's in-place update (or another leaf) would then share.
        Tensor g = grads[i].to_plain();
        if (!in.grad().defined() && (g.storage_shared() || g.same_storage(grads[i]))) g = g.clone();
        in.set_grad(accumulate(in.grad(), g));
      }
    }
    used(node);
  }
}

}  // namespace ringmaster::ops
