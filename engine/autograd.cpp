// Backward pass: topological order over recorded nodes, gradient accumulation into leaves.
#include "engine/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "engine/dispatch.h"
#include "kernels/elementwise.h"

namespace mx {

namespace {
thread_local bool g_grad_enabled = true;
thread_local int g_recomputing = 0;
thread_local std::function<void(const TensorImpl*)> g_leaf_hook;

struct RecomputeScope {
  RecomputeScope() { ++g_recomputing; }
  ~RecomputeScope() { --g_recomputing; }
};
}  // namespace

LeafGradHook::LeafGradHook(std::function<void(const TensorImpl*)> fn) : fn_(std::move(fn)), prev_(g_leaf_hook) {
  g_leaf_hook = fn_;
}
LeafGradHook::~LeafGradHook() { g_leaf_hook = prev_; }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

namespace {

// What a node keeps of an input: a leaf that needs a gradient itself (the gradient lands in it), of an
// op's output only its grad_fn and flags, without its storage, and nothing of an input that needs no
// gradient. So a node does not keep an op's output alive until the backward: an op whose backward needs
// the values saves them in its closure, and the others (add, the ReLU after a batch norm, ...) free them.
Tensor edge_to(const Tensor& in) {
  if (!in.defined() || !in.requires_grad()) return Tensor();
  if (!in.grad_fn()) return in;
  auto edge = std::make_shared<TensorImpl>();
  edge->shape = in.shape();
  edge->dtype = in.dtype();
  edge->requires_grad = true;
  edge->grad_fn = in.grad_fn();
  return Tensor(std::move(edge));
}

}  // namespace

void record(Tensor& out, const char* name, std::vector<Tensor> inputs,
            std::function<std::vector<Tensor>(const Tensor&)> fn) {
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& in : inputs) node->inputs.push_back(edge_to(in));
  node->backward = std::move(fn);
  out.impl()->grad_fn = node;
  out.impl()->requires_grad = true;
}

void accumulate_into(Tensor& dst, const Tensor& src) {
  check_same_shape(dst, src, "accumulate_into");
  check_same_device(dst, src, "accumulate_into");
  MX_DISPATCH(dst.device(), add_inplace, dst.data<float>(), src.data<float>(), dst.numel());
}

namespace {

// Add g to a pending gradient slot: the first gradient is taken as is, later ones are summed.
void add_pending(Tensor& slot, const Tensor& g) {
  if (!slot.defined()) {
    slot = g;
  } else {
    if (slot.impl()->storage.use_count() > 1) slot = slot.clone();  // never write through a shared buffer
    accumulate_into(slot, g);
  }
}

// Shared pointers keep every node alive while the pass frees inputs along the way.
std::vector<std::shared_ptr<Node>> topo_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      std::shared_ptr<Node> child = in.defined() ? in.grad_fn() : nullptr;
      if (child && seen.insert(child.get()).second) stack.emplace_back(child, 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;  // children before parents
}

bool is_grad_leaf(const Tensor& t) { return t.defined() && !t.grad_fn() && t.requires_grad(); }

// For the LeafGradHook: how many nodes of the pass still have to contribute to each leaf. A node that
// is skipped (no gradient reaches it) counts as having contributed nothing.
class LeafCounts {
 public:
  explicit LeafCounts(const std::vector<std::shared_ptr<Node>>& order) {
    if (!g_leaf_hook) return;
    for (const auto& node : order)
      for (const Tensor& in : node->inputs)
        if (is_grad_leaf(in)) ++left_[in.impl()];
  }
  void done_with(const Node& node) {
    if (!g_leaf_hook) return;
    for (const Tensor& in : node.inputs)
      if (is_grad_leaf(in) && --left_[in.impl()] == 0) g_leaf_hook(in.impl());
  }

 private:
  std::unordered_map<const TensorImpl*, int> left_;
};

}  // namespace

void run_backward(const Tensor& root, const Tensor& seed) {
  if (!root.grad_fn()) {
    MX_CHECK(root.requires_grad(), "backward(): the tensor does not require grad");
    Tensor g = root.grad();
    if (g.defined()) accumulate_into(g, seed); else root.impl()->grad = seed.clone();
    return;
  }
  std::vector<std::shared_ptr<Node>> order = topo_order(root.grad_fn());
  root.grad_fn()->grad_out = seed;
  LeafCounts leaves(order);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = it->get();
    if (!node->grad_out.defined()) {  // no path from the root reaches it with a gradient
      leaves.done_with(*node);
      continue;
    }
    std::vector<Tensor> grads = node->backward(node->grad_out);
    MX_CHECK(grads.size() == node->inputs.size(), "autograd: node ", node->name, " returned ",
             grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor& in = node->inputs[i];
      if (!grads[i].defined() || !in.defined() || !in.requires_grad()) continue;
      if (in.grad_fn()) {
        add_pending(in.grad_fn()->grad_out, grads[i]);
      } else if (in.grad().defined()) {
        Tensor g = in.grad();
        accumulate_into(g, grads[i]);  // leaf gradients accumulate (+=)
      } else {
        in.impl()->grad = grads[i].impl()->storage.use_count() > 1 ? grads[i].clone() : grads[i];
      }
    }
    leaves.done_with(*node);
    node->grad_out = Tensor();
    node->inputs.clear();  // free the graph as we go; a second backward needs a new forward
    node->backward = nullptr;
  }
}

bool recomputing() { return g_recomputing > 0; }

Tensor recompute_in_backward(const RecomputedFn& fn, const std::vector<Tensor>& inputs) {
  const bool record_it = grad_enabled();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = fn(inputs);
  }
  if (!record_it) return y;
  record(y, "recompute_in_backward", inputs, [fn, inputs](const Tensor& gy) -> std::vector<Tensor> {
    std::vector<Tensor> leaves;
    for (const Tensor& x : inputs) leaves.push_back(x.detach().set_requires_grad(x.requires_grad()));
    Tensor again;
    {
      RecomputeScope scope;
      again = fn(leaves);
    }
    run_backward(again, gy);
    std::vector<Tensor> grads;
    for (const Tensor& leaf : leaves) grads.push_back(leaf.grad());
    return grads;
  });
  return y;
}

}  // namespace mx
