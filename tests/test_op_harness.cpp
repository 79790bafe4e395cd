// The per-op harness as gtest tests: every case registered in tests/ops/op_cases.cpp becomes
// OpGradient (finite differences on the CPU), OpReference (against its naive reference, where it has
// one), OpCudaMatchesCpu (outputs, input gradients and state against the CPU, with guarded
// allocations; skipped without a GPU) and OpCpuGuarded (the same with the CPU on both sides). Then
// tests of the harness itself: that its checks fail when they should.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "tests/cuda_fixtures.h"
#include "tests/gradcheck.h"
#include "tests/ops/op_cases.h"

using namespace mx;
using namespace mx::test;

namespace mx::test {
void PrintTo(const OpCase* c, std::ostream* os) { *os << c->name; }
}  // namespace mx::test

namespace {

std::vector<const OpCase*> cases_where(bool (*keep)(const OpCase&)) {
  std::vector<const OpCase*> out;
  for (const OpCase& c : all_op_cases())
    if (keep(c)) out.push_back(&c);
  return out;
}

bool every_case(const OpCase&) { return true; }
bool small_case(const OpCase& c) { return c.finite_differences; }
bool has_reference(const OpCase& c) { return bool(c.reference); }

std::string case_name(const ::testing::TestParamInfo<const OpCase*>& info) { return info.param->name; }

// ---- the registered cases ----

class OpGradient : public ::testing::TestWithParam<const OpCase*> {};

TEST_P(OpGradient, MatchesFiniteDifferences) {
  expect_no_findings(check_gradients(*GetParam(), case_seed(GetParam()->name)));
}

INSTANTIATE_TEST_SUITE_P(, OpGradient,
                         ::testing::ValuesIn(cases_where(small_case)),
                         case_name);

class OpReference : public ::testing::TestWithParam<const OpCase*> {};

TEST_P(OpReference, ForwardMatchesNaive) {
  expect_no_findings(check_reference(*GetParam(), case_seed(GetParam()->name)));
}

INSTANTIATE_TEST_SUITE_P(, OpReference,
                         ::testing::ValuesIn(cases_where(has_reference)),
                         case_name);

class OpCudaMatchesCpu : public CudaTest, public ::testing::WithParamInterface<const OpCase*> {};

TEST_P(OpCudaMatchesCpu, OutputsAndGradients) {
  FreshSeed seed;
  expect_no_findings(check_devices_agree(*GetParam(), Device::CPU, Device::CUDA, seed.value));
}

INSTANTIATE_TEST_SUITE_P(, OpCudaMatchesCpu, ::testing::ValuesIn(cases_where(every_case)),
                         case_name);

// The same comparison with the CPU on both sides: every case, large ones included, writes only inside
// its allocations, leaves no output unwritten, and repeats itself.
class OpCpuGuarded : public ::testing::TestWithParam<const OpCase*> {};

TEST_P(OpCpuGuarded, WritesInBoundsAndRepeats) {
  expect_no_findings(check_devices_agree(*GetParam(), Device::CPU, Device::CPU, case_seed(GetParam()->name)));
}

INSTANTIATE_TEST_SUITE_P(, OpCpuGuarded, ::testing::ValuesIn(cases_where(every_case)),
                         case_name);

// ---- the harness itself ----

bool is_identifier(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '_'; });
}

TEST(OpHarness, CaseNamesAreUniqueIdentifiersStartingWithTheirOp) {
  std::set<std::string> seen;
  for (const OpCase& c : all_op_cases()) {
    EXPECT_TRUE(is_identifier(c.name)) << c.name;
    EXPECT_EQ(c.name.rfind(c.op + "_", 0), 0u) << c.name;
    EXPECT_TRUE(seen.insert(c.name).second) << "registered twice: " << c.name;
  }
  EXPECT_FALSE(seen.empty());
}

// y = 2x whose recorded backward returns `slope` * dy.
Tensor doubled(const Tensor& x, float slope) {
  Tensor y = Tensor::from_vector(x.to_vector<float>(), x.shape());
  for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] *= 2.f;
  if (!needs_grad({&x})) return y;
  record(y, "doubled", {x}, [slope](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = gy.clone();
    for (int64_t i = 0; i < gx.numel(); ++i) gx.data<float>()[i] *= slope;
    return {gx};
  });
  return y;
}

TEST(OpHarness, GradientCheckCatchesAWrongBackward) {
  std::mt19937 rng(1);
  OpInputs in;
  in.add("x", random_tensor({3, 4}, rng));
  const Findings right =
      check_finite_differences([](std::vector<Tensor>& t) { return doubled(t[0], 2.f); }, in, 1e-2, 1e-2, 3);
  EXPECT_TRUE(right.ok()) << right.report();
  const Findings flipped =
      check_finite_differences([](std::vector<Tensor>& t) { return doubled(t[0], -2.f); }, in, 1e-2, 1e-2, 3);
  EXPECT_FALSE(flipped.ok());
  EXPECT_EQ(flipped.lines().size() + flipped.more(), 12u) << "every element's gradient is wrong";
}

TEST(OpHarness, DeviceComparisonCatchesARunThatDiffers) {
  auto runs = std::make_shared<int>(0);
  const OpCase c{"doubled", "doubled_4x3", true,
                 [](std::mt19937& rng) { return OpInputs().add("x", random_tensor({4, 3}, rng)); },
                 [runs](std::vector<Tensor>& t) { return doubled(t[0], ++*runs == 1 ? 2.f : 2.002f); },
                 nullptr, Tolerances()};
  const Findings found = check_devices_agree(c, Device::CPU, Device::CPU, 5);
  ASSERT_EQ(found.lines().size(), 1u) << found.report();
  EXPECT_NE(found.lines()[0].find("gradient of x on cpu: element 0 is"), std::string::npos) << found.lines()[0];
}

TEST(OpHarness, GuardsCatchWritesOutsideAnAllocation) {
  guard_violations();  // nothing left over from earlier tests
  {
    GuardedAllocations guard;
    Tensor t = Tensor::empty({10});
    uint32_t* p = static_cast<uint32_t*>(t.raw());
    p[10] = ~p[10];  // past the end, inside the rounding slack; every byte of the guard changes
    EXPECT_EQ(guard_violations().size(), 1u) << "a live block is checked on request";
    p[-1] = ~p[-1];  // before the start
  }  // t is freed: both guards are checked again and reported
  const std::vector<std::string> found = guard_violations();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_NE(found[0].find("4 bytes written before the start (bytes -4 to -1)"), std::string::npos) << found[0];
  EXPECT_NE(found[1].find("4 bytes written past the end (bytes 40 to 43)"), std::string::npos) << found[1];
  EXPECT_TRUE(guard_violations().empty()) << "reports are handed out once";
}

TEST(OpHarness, UnwrittenElementsReadAsPoisonAndFailComparisons) {
  GuardedAllocations guard;
  const std::vector<float> fresh = Tensor::empty({5}).to_vector<float>();
  EXPECT_TRUE(std::all_of(fresh.begin(), fresh.end(), is_poison));
  const std::string problem = compare_close(fresh, std::vector<float>(5, 1.f), 1e-5, "output");
  EXPECT_NE(problem.find("element 0 was never written"), std::string::npos) << problem;
  EXPECT_NE(first_non_finite(fresh, "output"), "");
}

TEST(OpHarness, ReferenceComparisonIsExactWhenAskedAndRelativeOtherwise) {
  EXPECT_EQ(compare_reference({1.f}, {1.0 + 1e-9}, 0, "y"), "");  // rounds to the same float
  EXPECT_NE(compare_reference({1.f}, {1.0 + 1e-6}, 0, "y"), "");
  EXPECT_EQ(compare_reference({1.f}, {1.0 + 1e-6}, 1e-5, "y"), "");
  EXPECT_NE(compare_reference({1.f, 2.f}, {1.0}, 1e-5, "y"), "") << "sizes differ";
}

TEST_F(CudaTest, OpHarnessGuardsCatchWritesOnTheDevice) {
  guard_violations();
  {
    GuardedAllocations guard;
    Tensor t = Tensor::empty({10}, DType::F32, Device::CUDA);
    uint32_t word = 0;
    device_copy(&word, Device::CPU, t.data<float>() + 10, Device::CUDA, sizeof word);
    word = ~word;  // every byte of the guard changes
    device_copy(t.data<float>() + 10, Device::CUDA, &word, Device::CPU, sizeof word);
  }
  const std::vector<std::string> found = guard_violations();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("cuda block of 40 bytes: 4 bytes written past the end (bytes 40 to 43)"), std::string::npos)
      << found[0];
}

}  // namespace
