// Define-by-run autograd: nodes record how to turn an output gradient into input gradients.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace mx {

// One recorded op. backward() receives the gradient of the op's single output and returns one
// gradient per input (an undefined Tensor where the input needs none).
struct Node {
  const char* name = "";
  // The op's inputs, in order: a leaf that needs a gradient as it is, an op's output as an edge (its
  // grad_fn, shape and flags; no storage, so not its device or data), an input that needs no gradient
  // undefined. Whether an input needs a gradient is decided when the op is recorded.
  std::vector<Tensor> inputs;
  std::function<std::vector<Tensor>(const Tensor& grad_out)> backward;
  Tensor grad_out;  // accumulated gradient of the output during a backward pass
};

// Gradient recording is on by default; NoGradGuard turns it off for its scope (evaluation).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when recording is on and any of the inputs requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Attach a node to `out` so backward() flows through `fn` into `inputs`.
void record(Tensor& out, const char* name, std::vector<Tensor> inputs,
            std::function<std::vector<Tensor>(const Tensor&)> fn);

// Reverse-topological backward from `root` seeded with `seed` (ones for a scalar loss).
// Leaf gradients accumulate (+=); non-leaf gradients are summed per node then consumed.
void run_backward(const Tensor& root, const Tensor& seed);

// While a LeafGradHook lives, every backward pass on this thread calls it with each leaf (a tensor
// without grad_fn that requires a gradient) as soon as the pass has made its last contribution to that
// leaf's gradient: what data-parallel training uses to start all-reducing a bucket during backward.
class LeafGradHook {
 public:
  explicit LeafGradHook(std::function<void(const TensorImpl*)> fn);
  ~LeafGradHook();
  LeafGradHook(const LeafGradHook&) = delete;
  LeafGradHook& operator=(const LeafGradHook&) = delete;

 private:
  std::function<void(const TensorImpl*)> fn_, prev_;
};

// Recomputation (gradient checkpointing): y = fn(inputs) is computed without recording, so none of fn's
// intermediates outlive the call; backward runs fn again with recording on, from the same inputs, and
// differentiates that. Parameters used inside fn receive their gradients then. fn must be a pure
// function of its inputs and parameters (same values on the second call); while it runs for backward
// recomputing() is true, so layers with side effects (batch norm's running statistics) skip them.
using RecomputedFn = std::function<Tensor(const std::vector<Tensor>&)>;
Tensor recompute_in_backward(const RecomputedFn& fn, const std::vector<Tensor>& inputs);
bool recomputing();

// dst += src elementwise (F32, same numel, same device).
void accumulate_into(Tensor& dst, const Tensor& src);

}  // namespace mx
