// gtest adapters of the op harness's checks (tests/ops/op_harness.h): its findings reported as test
// failures, and its finite-difference gradient check applied to any function of tensors. Random
// inputs come from tests/ops/op_inputs.h.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/ops/op_harness.h"
#include "tests/ops/op_inputs.h"

namespace mx::test {

// One test failure per finding.
inline void expect_no_findings(const Findings& found) {
  for (const std::string& line : found.lines()) ADD_FAILURE() << line;
  if (found.more()) ADD_FAILURE() << "... and " << found.more() << " more";
}

// Checks d(sum w*f)/d(input) for every input by central differences; op_harness.h explains why eps and
// tol suit float32. f must be deterministic.
inline void expect_gradients_match(const Forward& f, const std::vector<Tensor>& inputs, double eps = 1e-2,
                                   double tol = 1e-2, uint32_t seed = 7) {
  OpInputs in;
  for (size_t k = 0; k < inputs.size(); ++k) in.add("input " + std::to_string(k), inputs[k]);
  expect_no_findings(check_finite_differences(f, in, eps, tol, seed));
}

}  // namespace mx::test
