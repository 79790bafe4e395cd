// The op registry of the per-op test harness (in the spirit of ggml's tests/test-backend-ops.cpp): one
// registration per op front-end of engine/ops.h gives its list of awkward shapes, an input generator,
// the forward through the front-end and, optionally, a naive double-precision reference; the backward
// comes from autograd. The gtest driver (tests/test_op_harness.cpp) turns every case into a
// finite-difference gradient check, a CUDA-versus-CPU comparison and a reference check; bench/ops.cpp
// times them. The registrations themselves are in op_cases.cpp, one block per op. No gtest here.
#pragma once
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mx::test {

// The inputs of one case, in the order the forward reads them, made on the CPU.
struct OpInput {
  std::string name;     // for messages: "weight", "running_var"
  Tensor value;
  bool differentiable;  // an F32 leaf whose gradient is checked; otherwise fixed (labels, running stats)
};

struct OpInputs {
  std::vector<OpInput> list;
  OpInputs& add(std::string name, Tensor value, bool differentiable = true);
  OpInputs& fixed(std::string name, Tensor value) { return add(std::move(name), std::move(value), false); }
};

// What a naive reference computes from the inputs: the output's shape and values.
struct Expected {
  Shape shape;
  std::vector<double> values;
};

// Tolerances of the checks. Finite differences (op_harness.h explains the float32 budget): step fd_eps,
// |analytic - numeric| <= fd_tol * max(1, |numeric|). Reference: |y - ref| <= tol * max(1, |ref|), 0 =
// exactly the float nearest to ref; 1e-5 is ~100 float32 ulps of a sum of a few dozen products, and
// large cases, whose outputs sum hundreds of them, get reference_large. CUDA against CPU: elementwise
// relative to max(|cpu|, rms(cpu)) (op_compare.h), outputs and state (running statistics) with
// twin_output, input gradients with twin_gradient.
struct Tolerances {
  double fd_eps = 1e-2, fd_tol = 1e-2;
  double reference = 1e-5, reference_large = 1e-4;
  double twin_output = 1e-5, twin_gradient = 1e-5;

  Tolerances& twin(double output, double gradient) {
    twin_output = output;
    twin_gradient = gradient;
    return *this;
  }
  Tolerances& reference_tol(double tol) {  // for every case: exact (0) or a sum of few terms
    reference = reference_large = tol;
    return *this;
  }
};

using Forward = std::function<Tensor(std::vector<Tensor>&)>;

// One registered case, named "<op>_<shape description>" (a valid gtest name).
struct OpCase {
  std::string op, name;
  bool finite_differences;  // false for cases too large for them (CUDA comparison and timing only)
  std::function<OpInputs(std::mt19937&)> inputs;
  Forward forward;
  std::function<Expected(const std::vector<Tensor>&)> reference;  // empty when the op has none
  Tolerances tol;
};

// What one op registers. P describes a case (shape and arguments).
template <typename P>
struct OpFamily {
  std::string op;                  // the front-end's name, as bench_ops --op takes it
  std::vector<P> cases;            // every check
  std::vector<P> large_cases;      // too many elements for finite differences
  std::function<std::string(const P&)> name;                      // the case name after "<op>_"
  std::function<OpInputs(const P&, std::mt19937&)> inputs;        // values drawn from the generator
  std::function<Tensor(const P&, std::vector<Tensor>&)> forward;  // through the op front-end
  std::function<Expected(const P&, const std::vector<Tensor>&)> reference = {};  // optional
  Tolerances tol = {};
};

void add_op_case(OpCase c);

// Expands a family into its cases; returns true so that a namespace-scope constant can hold it.
template <typename P>
bool register_op(const OpFamily<P>& f) {
  auto add = [&f](const P& p, bool finite_differences) {
    OpCase c{f.op, f.op + "_" + f.name(p), finite_differences,
             [inputs = f.inputs, p](std::mt19937& rng) { return inputs(p, rng); },
             [forward = f.forward, p](std::vector<Tensor>& t) { return forward(p, t); }, nullptr, f.tol};
    if (f.reference)
      c.reference = [reference = f.reference, p](const std::vector<Tensor>& t) { return reference(p, t); };
    add_op_case(std::move(c));
  };
  for (const P& p : f.cases) add(p, true);
  for (const P& p : f.large_cases) add(p, false);
  return true;
}

// Every registered case, in registration order. Filled during static initialisation of op_cases.cpp,
// so call it from main() or later (gtest evaluates its parameter lists in InitGoogleTest).
const std::vector<OpCase>& all_op_cases();

// "3x7x5": the sizes joined by `separator`, for case names.
std::string dims_name(const Shape& sizes, const char* separator = "x");

}  // namespace mx::test
