// The checks and the timing behind the per-op harness (no gtest): finite-difference gradients on the
// CPU, a naive reference, one device against another (the CUDA backend against the CPU) under guarded
// allocations, and median forward/backward times. Each check returns its Findings instead of
// asserting, so the gtest driver and the benchmark share them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tests/ops/op_cases.h"

namespace mx::test {

// What a check found wrong: the first kShown lines, and how many more there were.
class Findings {
 public:
  static constexpr size_t kShown = 12;
  void add(const std::string& line);  // "" adds nothing
  void add_all(const std::vector<std::string>& lines);
  bool ok() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  int64_t more() const { return more_; }
  std::string report() const;  // the lines, one per line, and "... and N more"

 private:
  std::vector<std::string> lines_;
  int64_t more_ = 0;
};

// A fixed seed per case name (FNV-1a), so a failing check repeats.
uint32_t case_seed(const std::string& name);

// The objective whose gradient every check differentiates: sum_j w_j * y_j with w_j uniform in
// [0.5, 1.5] from `seed`, so each output element gets its own weight and none cancels another.
std::vector<float> objective_weights(int64_t n, uint32_t seed);

// Finite-difference check of d(objective)/d(input) for every differentiable input, on the CPU, with
// guarded allocations. f must be deterministic.
//
// Float32 budget: central differences (S(x+h) - S(x-h)) / 2h have a truncation error of about
// h^2/6 * S''' (2e-5 for h = 1e-2 and unit-scale smooth ops). S is summed in double from float32
// outputs; outputs that do not depend on x_i come out bit-identical in both evaluations (the kernels
// are deterministic), and the m that do each carry a rounding error of about u * sqrt(K) * |y|
// (u = 6e-8, K terms summed into each), so the numeric derivative is off by roughly
// sqrt(m) * u * sqrt(K) * |y| / 2h: 1e-4 or less for the sizes registered. The analytic gradient's
// own float32 error is smaller still. A bound of 1e-2 * max(1, |numeric|) thus leaves a margin of 100
// over both, while a wrong backward (a dropped term, a flipped sign, a wrong index) is off by O(1).
// Larger cases would need a larger step or a looser bound, so they skip this check (large_cases).
// Non-smooth ops (ReLU, max pooling) take distinct_tensor inputs, spaced 0.05 > 2h apart and away
// from 0, so no perturbation crosses a kink or changes a window's maximum.
Findings check_finite_differences(const Forward& f, const OpInputs& inputs, double eps, double tol,
                                  uint32_t seed);

Findings check_gradients(const OpCase& c, uint32_t seed);     // the case's inputs and fd tolerances
Findings check_reference(const OpCase& c, uint32_t seed);     // needs c.reference

// One run on `tested` against one on `reference` (the CPU), both with guarded allocations: output,
// input gradients and state within the case's twin tolerances, every result of the reference run
// written and finite, and no write outside an allocation on either device. With both devices the CPU
// it checks the CPU backend's guards and run-to-run agreement on every case, large ones included.
Findings check_devices_agree(const OpCase& c, Device reference, Device tested, uint32_t seed);

// One forward and backward of a case on a device, results copied to the host.
struct CaseRun {
  Shape shape;
  std::vector<float> output;
  std::vector<std::string> grad_names, state_names;
  std::vector<std::vector<float>> grads;  // of each differentiable input
  std::vector<std::vector<float>> state;  // every other F32 input after the run (running statistics)
};
CaseRun run_case(const OpCase& c, Device dev, uint32_t seed, Findings& found);

// Median milliseconds of the forward and of the backward over `repeats` runs after `warmup` ones, on
// fixed inputs; a CUDA run waits for the device before each clock reading. First validates one run
// (every output and gradient finite and written) and throws mx::Error naming the case if it is not.
struct OpTimes {
  double forward_ms, backward_ms;
};
OpTimes time_case(const OpCase& c, Device dev, int warmup, int repeats);

}  // namespace mx::test
