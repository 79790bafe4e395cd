// Our CUDA kernels against their CPU twins: fresh random inputs of awkward shapes (batch 1, odd
// batches, sizes that are not multiples of 8), outputs framed by poisoned guard regions, tolerances
// tied to float32 rounding: bit-for-bit where the GPU does the CPU's arithmetic in the CPU's order,
// a few ulps where only the order of a sum or a fused multiply-add differs. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/augment_mix.h"
#include "kernels/batchnorm.h"
#include "kernels/concat.h"
#include "kernels/cross_entropy.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/mix_batch.h"
#include "kernels/perturb.h"
#include "kernels/pool.h"
#include "kernels/sgd.h"
#include "kernels/step_guard.h"
#include "tests/cuda_fixtures.h"
#include "tests/mix_plans.h"

using namespace mx;
using namespace mx::test;

namespace {

// ---- elementwise ----

class CudaElementwise : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CudaElementwise, MatchesCpuTwinBitForBit) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  std::vector<float> a = random_floats(n, rng), b = random_floats(n, rng), want(static_cast<size_t>(n));
  a[0] = -0.f;
  Guarded<float> ga(n), gb(n), out(n);
  {  // a NaN goes through relu unchanged, bit for bit on both (no arithmetic touches it)
    std::vector<float> with_nan = a;
    with_nan[n / 2] = std::nanf("7");
    ga.upload(with_nan);
    kernels::relu_forward<Device::CPU>(want.data(), with_nan.data(), n);
    MX_CUDA_KERNEL(relu_forward)(out.data(), ga.data(), n);
    const std::vector<float> got = out.download();
    EXPECT_TRUE(std::isnan(got[static_cast<size_t>(n / 2)]));
    expect_bitwise_equal(got, want, "relu_forward of a NaN");
  }
  ga.upload(a);
  gb.upload(b);

  kernels::relu_forward<Device::CPU>(want.data(), a.data(), n);
  MX_CUDA_KERNEL(relu_forward)(out.data(), ga.data(), n);
  expect_bitwise_equal(out.download(), want, "relu_forward");

  kernels::relu_backward<Device::CPU>(want.data(), b.data(), a.data(), n);
  MX_CUDA_KERNEL(relu_backward)(out.data(), gb.data(), ga.data(), n);
  expect_bitwise_equal(out.download(), want, "relu_backward");

  kernels::add_forward<Device::CPU>(want.data(), a.data(), b.data(), n);
  MX_CUDA_KERNEL(add_forward)(out.data(), ga.data(), gb.data(), n);
  expect_bitwise_equal(out.download(), want, "add_forward");

  want = a;
  kernels::add_inplace<Device::CPU>(want.data(), b.data(), n);
  out.upload(a);
  MX_CUDA_KERNEL(add_inplace)(out.data(), gb.data(), n);
  expect_bitwise_equal(out.download(), want, "add_inplace");

  want = a;
  kernels::scale_inplace<Device::CPU>(want.data(), 0.37f, n);
  out.upload(a);
  MX_CUDA_KERNEL(scale_inplace)(out.data(), 0.37f, n);
  expect_bitwise_equal(out.download(), want, "scale_inplace");
  out.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaElementwise, ::testing::Values(1, 7, 4099, (1 << 20) + 5));

// ---- weighted-noise perturbation ----

class CudaPerturb : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CudaPerturb, ApplyAndNoiseMatchCpuTwinBitForBit) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  std::vector<float> w0 = random_floats(n, rng), d1 = random_floats(n, rng), d2 = random_floats(n, rng);
  std::vector<float> want(static_cast<size_t>(n));
  Guarded<float> gw0 = on_device(w0), gd1 = on_device(d1), gd2 = on_device(d2), out(n);

  kernels::perturb_apply<Device::CPU>(want.data(), w0.data(), d1.data(), d2.data(), 0.3f, -0.7f, n);
  MX_CUDA_KERNEL(perturb_apply)(out.data(), gw0.data(), gd1.data(), gd2.data(), 0.3f, -0.7f, n);
  expect_bitwise_equal(out.download(), want, "perturb_apply");

  kernels::noise_direction<Device::CPU>(want.data(), w0.data(), 0.f, std::sqrt(0.2f), seed.value, n);
  MX_CUDA_KERNEL(noise_direction)(out.data(), gw0.data(), 0.f, std::sqrt(0.2f), seed.value, n);
  expect_bitwise_equal(out.download(), want, "noise_direction");
  out.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaPerturb, ::testing::Values(1, 3, 4, 4099, (1 << 20) + 5));

// ---- batch norm ----

class CudaBatchNorm : public CudaTest, public ::testing::WithParamInterface<Nchw> {
 protected:
  // Inputs away from zero mean, so the variance is a difference of large sums.
  void draw(uint32_t seed) {
    std::mt19937 rng(seed);
    const Nchw s = GetParam();
    x = random_floats(s.numel(), rng, 1.f, 5.f);
    dy = random_floats(s.numel(), rng);
    gamma = random_floats(s.c, rng, 0.5f, 1.5f);
    beta = random_floats(s.c, rng, -0.5f, 0.5f);
    running_mean = random_floats(s.c, rng);
    running_var = random_floats(s.c, rng, 0.5f, 2.f);
  }
  std::vector<float> x, dy, gamma, beta, running_mean, running_var;
};

// The five outputs of a training forward on the GPU (y, save_mean, save_invstd, running_mean,
// running_var) against the CPU twin's, and their guards intact.
void expect_train_forward_close(const std::array<const Guarded<float>*, 5>& got,
                                const std::array<const std::vector<float>*, 5>& want) {
  const char* names[] = {"y", "save_mean", "save_invstd", "running_mean", "running_var"};
  for (size_t i = 0; i < got.size(); ++i) {
    expect_close(got[i]->download(), *want[i], i == 0 ? 1e-5 : 1e-6, names[i]);
    got[i]->expect_guards_intact();
  }
}

TEST_P(CudaBatchNorm, TrainForwardMatchesCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "fused ReLU" : "no ReLU");
    std::vector<float> y(x.size()), mean(gamma.size()), invstd(gamma.size()), rm = running_mean, rv = running_var;
    kernels::batch_norm_train_forward<Device::CPU>(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(),
                                                   x.data(), gamma.data(), beta.data(), s.n, s.c, hw, 0.1f, 1e-5f,
                                                   relu);
    Guarded<float> gx = on_device(x), gg = on_device(gamma), gb = on_device(beta), grm = on_device(running_mean),
                   grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c);
    MX_CUDA_KERNEL(batch_norm_train_forward)(gy.data(), gmean.data(), ginv.data(), grm.data(), grv.data(), gx.data(),
                                             gg.data(), gb.data(), s.n, s.c, hw, 0.1f, 1e-5f, relu);
    expect_train_forward_close({&gy, &gmean, &ginv, &grm, &grv}, {&y, &mean, &invstd, &rm, &rv});
  }
}

TEST_P(CudaBatchNorm, EvalForwardMatchesCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "fused ReLU" : "no ReLU");
    std::vector<float> y(x.size()), mean(gamma.size()), invstd(gamma.size());
    kernels::batch_norm_eval_forward<Device::CPU>(y.data(), mean.data(), invstd.data(), x.data(), gamma.data(),
                                                  beta.data(), running_mean.data(), running_var.data(), s.n, s.c, hw,
                                                  1e-5f, relu);
    Guarded<float> gx = on_device(x), gg = on_device(gamma), gb = on_device(beta), grm = on_device(running_mean),
                   grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c);
    MX_CUDA_KERNEL(batch_norm_eval_forward)(gy.data(), gmean.data(), ginv.data(), gx.data(), gg.data(), gb.data(),
                                            grm.data(), grv.data(), s.n, s.c, hw, 1e-5f, relu);
    expect_close(gy.download(), y, 1e-6, "y");
    expect_bitwise_equal(gmean.download(), mean, "save_mean");
    expect_bitwise_equal(ginv.download(), invstd, "save_invstd");
    for (const Guarded<float>* g : {&gy, &gmean, &ginv}) g->expect_guards_intact();
  }
}

TEST_P(CudaBatchNorm, BackwardMatchesCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  // The forward's output through the fused ReLU: the mask of the backward with the ReLU.
  std::vector<float> y(x.size()), mean(gamma.size()), invstd(gamma.size());
  kernels::batch_norm_train_forward<Device::CPU>(y.data(), mean.data(), invstd.data(), running_mean.data(),
                                                 running_var.data(), x.data(), gamma.data(), beta.data(), s.n, s.c, hw,
                                                 0.1f, 1e-5f, true);
  const Guarded<float> gy = on_device(y);
  for (bool training : {true, false}) {
    for (bool want_dx : {true, false}) {
      for (bool relu : {false, true}) {
        SCOPED_TRACE(std::string(training ? "training" : "evaluation") + (want_dx ? ", dx" : ", no dx") +
                     (relu ? ", fused ReLU" : ""));
        std::vector<float> dx(x.size()), dgamma(gamma.size()), dbeta(gamma.size());
        kernels::batch_norm_backward<Device::CPU>(want_dx ? dx.data() : nullptr, dgamma.data(), dbeta.data(),
                                                  dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(), s.n,
                                                  s.c, hw, training, relu ? y.data() : nullptr);
        Guarded<float> gdy = on_device(dy), gx = on_device(x), gg = on_device(gamma), gmean = on_device(mean),
                       ginv = on_device(invstd), gdx(s.numel()), gdg(s.c), gdb(s.c);
        MX_CUDA_KERNEL(batch_norm_backward)(want_dx ? gdx.data() : nullptr, gdg.data(), gdb.data(), gdy.data(),
                                            gx.data(), gg.data(), gmean.data(), ginv.data(), s.n, s.c, hw, training,
                                            relu ? gy.data() : nullptr);
        expect_close(gdg.download(), dgamma, 1e-5, "dgamma");
        expect_close(gdb.download(), dbeta, 1e-5, "dbeta");
        if (want_dx) expect_close(gdx.download(), dx, 1e-5, "dx");
        for (const Guarded<float>* g : {&gdx, &gdg, &gdb}) g->expect_guards_intact();
      }
    }
  }
}

// The sums run in a fixed order however many slices a channel is cut into: two runs of the training
// forward and backward on the same inputs agree bit for bit.
TEST_P(CudaBatchNorm, RepeatsBitForBit) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  const char* names[] = {"y", "save_mean", "save_invstd", "running_mean", "running_var", "dx", "dgamma", "dbeta"};
  const auto run = [&] {
    Guarded<float> gx = on_device(x), gdy = on_device(dy), gg = on_device(gamma), gb = on_device(beta),
                   grm = on_device(running_mean), grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c),
                   gdx(s.numel()), gdg(s.c), gdb(s.c);
    MX_CUDA_KERNEL(batch_norm_train_forward)(gy.data(), gmean.data(), ginv.data(), grm.data(), grv.data(), gx.data(),
                                             gg.data(), gb.data(), s.n, s.c, hw, 0.1f, 1e-5f, false);
    MX_CUDA_KERNEL(batch_norm_backward)(gdx.data(), gdg.data(), gdb.data(), gdy.data(), gx.data(), gg.data(),
                                        gmean.data(), ginv.data(), s.n, s.c, hw, true, nullptr);
    std::vector<std::vector<float>> results;
    for (const Guarded<float>* g : {&gy, &gmean, &ginv, &grm, &grv, &gdx, &gdg, &gdb}) results.push_back(g->download());
    return results;
  };
  const std::vector<std::vector<float>> first = run(), second = run();
  for (size_t i = 0; i < first.size(); ++i) expect_bitwise_equal(second[i], first[i], names[i]);
}

// Sums in double against the CPU twin's, which adds in another order: within 1e-12 of the sums' typical
// size (a NaN, the poison of an unwritten double too, fails).
void expect_sums_close(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double square_sum = 0;
  for (double w : want) square_sum += w * w;
  const double floor = std::sqrt(square_sum / static_cast<double>(want.size()));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(std::fabs(got[i] - want[i]) <= 1e-12 * std::max(std::fabs(want[i]), floor))
        << what << ": element " << i << ": got " << got[i] << ", CPU twin " << want[i];
}

// The pieces of the split training forward (synchronized batch norm): the sums, then the forward from
// the CPU twin's sums taken over twice the values (as if another rank's batch held zeros).
TEST_P(CudaBatchNorm, ForwardPiecesMatchCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  std::vector<double> sums(static_cast<size_t>(2 * s.c));
  kernels::batch_norm_forward_sums<Device::CPU>(sums.data(), x.data(), s.n, s.c, hw);
  Guarded<float> gx = on_device(x);
  Guarded<double> gsums(2 * s.c);
  MX_CUDA_KERNEL(batch_norm_forward_sums)(gsums.data(), gx.data(), s.n, s.c, hw);
  expect_sums_close(gsums.download(), sums, "sums");
  gsums.expect_guards_intact();

  const double count = 2.0 * static_cast<double>(s.n * hw);
  Guarded<double> gs = on_device(sums);
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "fused ReLU" : "no ReLU");
    std::vector<float> y(x.size()), mean(gamma.size()), invstd(gamma.size()), rm = running_mean, rv = running_var;
    kernels::batch_norm_train_forward_from_sums<Device::CPU>(y.data(), mean.data(), invstd.data(), rm.data(),
                                                             rv.data(), x.data(), gamma.data(), beta.data(),
                                                             sums.data(), count, s.n, s.c, hw, 0.1f, 1e-5f, relu);
    Guarded<float> gg = on_device(gamma), gb = on_device(beta), grm = on_device(running_mean),
                   grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c);
    MX_CUDA_KERNEL(batch_norm_train_forward_from_sums)(gy.data(), gmean.data(), ginv.data(), grm.data(), grv.data(),
                                                       gx.data(), gg.data(), gb.data(), gs.data(), count, s.n, s.c,
                                                       hw, 0.1f, 1e-5f, relu);
    expect_train_forward_close({&gy, &gmean, &ginv, &grm, &grv}, {&y, &mean, &invstd, &rm, &rv});
  }
}

// The pieces of the split training backward: the sums, dgamma and dbeta from the CPU twin's sums (one
// product and a rounding each: bit for bit), dx from them taken over twice the values.
TEST_P(CudaBatchNorm, BackwardPiecesMatchCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  std::vector<float> y(x.size()), mean(gamma.size()), invstd(gamma.size());
  kernels::batch_norm_train_forward<Device::CPU>(y.data(), mean.data(), invstd.data(), running_mean.data(),
                                                 running_var.data(), x.data(), gamma.data(), beta.data(), s.n, s.c, hw,
                                                 0.1f, 1e-5f, true);
  Guarded<float> gdy = on_device(dy), gx = on_device(x), gg = on_device(gamma), gmean = on_device(mean),
                 ginv = on_device(invstd), gy = on_device(y);
  const double count = 2.0 * static_cast<double>(s.n * hw);
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "fused ReLU" : "no ReLU");
    const float* mask = relu ? y.data() : nullptr;
    const float* gmask = relu ? gy.data() : nullptr;
    std::vector<double> sums(static_cast<size_t>(2 * s.c));
    kernels::batch_norm_backward_sums<Device::CPU>(sums.data(), dy.data(), x.data(), mean.data(), s.n, s.c, hw, mask);
    Guarded<float> gdx(s.numel()), gdg(s.c), gdb(s.c);
    Guarded<double> gsums(2 * s.c);
    MX_CUDA_KERNEL(batch_norm_backward_sums)(gsums.data(), gdy.data(), gx.data(), gmean.data(), s.n, s.c, hw, gmask);
    expect_sums_close(gsums.download(), sums, "sums");
    gsums.expect_guards_intact();

    std::vector<float> dgamma(gamma.size()), dbeta(gamma.size()), dx(x.size());
    kernels::batch_norm_param_grads<Device::CPU>(dgamma.data(), dbeta.data(), sums.data(), invstd.data(), s.c);
    kernels::batch_norm_backward_dx_from_sums<Device::CPU>(dx.data(), dy.data(), x.data(), gamma.data(), mean.data(),
                                                           invstd.data(), sums.data(), count, s.n, s.c, hw, mask);
    Guarded<double> gs = on_device(sums);
    MX_CUDA_KERNEL(batch_norm_param_grads)(gdg.data(), gdb.data(), gs.data(), ginv.data(), s.c);
    MX_CUDA_KERNEL(batch_norm_backward_dx_from_sums)(gdx.data(), gdy.data(), gx.data(), gg.data(), gmean.data(),
                                                     ginv.data(), gs.data(), count, s.n, s.c, hw, gmask);
    expect_bitwise_equal(gdg.download(), dgamma, "dgamma");
    expect_bitwise_equal(gdb.download(), dbeta, "dbeta");
    expect_close(gdx.download(), dx, 1e-5, "dx");
    for (const Guarded<float>* g : {&gdx, &gdg, &gdb}) g->expect_guards_intact();
  }
}

// On the GPU the fused ReLU is relu_forward of the plain forward and the plain backward of
// relu_backward's gradient, bit for bit: the same sums in the same order, and the same formulas.
TEST_P(CudaBatchNorm, FusedReluRepeatsTheReluKernelsBitForBit) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  const char* names[] = {"y", "running_mean", "running_var", "dx", "dgamma", "dbeta"};
  const auto run = [&](bool fused) {
    Guarded<float> gx = on_device(x), gdy = on_device(dy), gg = on_device(gamma), gb = on_device(beta),
                   grm = on_device(running_mean), grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c),
                   gdx(s.numel()), gdg(s.c), gdb(s.c);
    MX_CUDA_KERNEL(batch_norm_train_forward)(gy.data(), gmean.data(), ginv.data(), grm.data(), grv.data(), gx.data(),
                                             gg.data(), gb.data(), s.n, s.c, hw, 0.1f, 1e-5f, fused);
    if (fused) {
      MX_CUDA_KERNEL(batch_norm_backward)(gdx.data(), gdg.data(), gdb.data(), gdy.data(), gx.data(), gg.data(),
                                          gmean.data(), ginv.data(), s.n, s.c, hw, true, gy.data());
    } else {
      Guarded<float> gout(s.numel()), gup(s.numel());
      MX_CUDA_KERNEL(relu_forward)(gout.data(), gy.data(), s.numel());
      MX_CUDA_KERNEL(relu_backward)(gup.data(), gdy.data(), gout.data(), s.numel());
      MX_CUDA_KERNEL(batch_norm_backward)(gdx.data(), gdg.data(), gdb.data(), gup.data(), gx.data(), gg.data(),
                                          gmean.data(), ginv.data(), s.n, s.c, hw, true, nullptr);
      gy.upload(gout.download());
    }
    std::vector<std::vector<float>> results;
    for (const Guarded<float>* g : {&gy, &grm, &grv, &gdx, &gdg, &gdb}) results.push_back(g->download());
    return results;
  };
  const std::vector<std::vector<float>> fused = run(true), unfused = run(false);
  for (size_t i = 0; i < fused.size(); ++i) expect_bitwise_equal(fused[i], unfused[i], names[i]);
}

// On the GPU too the pieces, with the batch's own count, repeat the fused kernels bit for bit: the same
// slices, summed in the same order, and the same formulas.
TEST_P(CudaBatchNorm, PiecesRepeatTheFusedKernelsBitForBit) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  const double count = static_cast<double>(s.n * hw);
  const char* names[] = {"y", "save_mean", "save_invstd", "running_mean", "running_var", "dx", "dgamma", "dbeta"};
  const auto run = [&](bool pieces, bool relu) {
    Guarded<float> gx = on_device(x), gdy = on_device(dy), gg = on_device(gamma), gb = on_device(beta),
                   grm = on_device(running_mean), grv = on_device(running_var), gy(s.numel()), gmean(s.c), ginv(s.c),
                   gdx(s.numel()), gdg(s.c), gdb(s.c);
    Guarded<double> gs(2 * s.c);
    const float* mask = relu ? gy.data() : nullptr;  // the forward's output, once it is written
    if (pieces) {
      MX_CUDA_KERNEL(batch_norm_forward_sums)(gs.data(), gx.data(), s.n, s.c, hw);
      MX_CUDA_KERNEL(batch_norm_train_forward_from_sums)(gy.data(), gmean.data(), ginv.data(), grm.data(),
                                                         grv.data(), gx.data(), gg.data(), gb.data(), gs.data(),
                                                         count, s.n, s.c, hw, 0.1f, 1e-5f, relu);
      MX_CUDA_KERNEL(batch_norm_backward_sums)(gs.data(), gdy.data(), gx.data(), gmean.data(), s.n, s.c, hw, mask);
      MX_CUDA_KERNEL(batch_norm_param_grads)(gdg.data(), gdb.data(), gs.data(), ginv.data(), s.c);
      MX_CUDA_KERNEL(batch_norm_backward_dx_from_sums)(gdx.data(), gdy.data(), gx.data(), gg.data(), gmean.data(),
                                                       ginv.data(), gs.data(), count, s.n, s.c, hw, mask);
    } else {
      MX_CUDA_KERNEL(batch_norm_train_forward)(gy.data(), gmean.data(), ginv.data(), grm.data(), grv.data(),
                                               gx.data(), gg.data(), gb.data(), s.n, s.c, hw, 0.1f, 1e-5f, relu);
      MX_CUDA_KERNEL(batch_norm_backward)(gdx.data(), gdg.data(), gdb.data(), gdy.data(), gx.data(), gg.data(),
                                          gmean.data(), ginv.data(), s.n, s.c, hw, true, mask);
    }
    std::vector<std::vector<float>> results;
    for (const Guarded<float>* g : {&gy, &gmean, &ginv, &grm, &grv, &gdx, &gdg, &gdb}) results.push_back(g->download());
    return results;
  };
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "fused ReLU" : "no ReLU");
    const std::vector<std::vector<float>> fused = run(false, relu), pieces = run(true, relu);
    for (size_t i = 0; i < fused.size(); ++i) expect_bitwise_equal(pieces[i], fused[i], names[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaBatchNorm,
                         ::testing::Values(Nchw{1, 3, 5, 7}, Nchw{5, 16, 4, 4}, Nchw{2, 1, 1, 3}, Nchw{33, 7, 3, 3},
                                           Nchw{4, 3, 32, 32}, Nchw{128, 64, 8, 8}, Nchw{7, 3, 41, 43},
                                           Nchw{33, 2, 45, 47}));

// ---- pooling ----

struct PoolCase {
  Nchw x;
  int kernel, stride, padding;
  int64_t oh() const { return (x.h + 2 * padding - kernel) / stride + 1; }
  int64_t ow() const { return (x.w + 2 * padding - kernel) / stride + 1; }
};
void PrintTo(const PoolCase& p, std::ostream* os) {
  PrintTo(p.x, os);
  *os << " kernel " << p.kernel << " stride " << p.stride << " padding " << p.padding;
}

class CudaPool : public CudaTest, public ::testing::WithParamInterface<PoolCase> {};

// Max pooling on random values and on values with many ties (the first maximum must win on both).
TEST_P(CudaPool, MaxPoolMatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const PoolCase p = GetParam();
  const int64_t planes = p.x.n * p.x.c, outs = planes * p.oh() * p.ow();
  for (bool ties : {false, true}) {
    SCOPED_TRACE(ties ? "values with ties" : "random values");
    std::vector<float> x = random_floats(p.x.numel(), rng), dy = random_floats(outs, rng);
    if (ties)
      for (float& v : x) v = std::floor(v * 1.5f);
    std::vector<float> y(static_cast<size_t>(outs)), dx(x.size());
    std::vector<int32_t> argmax(static_cast<size_t>(outs));
    kernels::max_pool2d_forward<Device::CPU>(y.data(), argmax.data(), x.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(),
                                             p.kernel, p.stride, p.padding);
    kernels::max_pool2d_backward<Device::CPU>(dx.data(), dy.data(), argmax.data(), planes, p.x.h, p.x.w, p.oh(),
                                              p.ow());
    Guarded<float> gx = on_device(x), gdy = on_device(dy), gy(outs), gdx(p.x.numel());
    Guarded<int32_t> garg(outs);
    MX_CUDA_KERNEL(max_pool2d_forward)(gy.data(), garg.data(), gx.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(),
                                       p.kernel, p.stride, p.padding);
    MX_CUDA_KERNEL(max_pool2d_backward)(gdx.data(), gdy.data(), garg.data(), planes, p.x.h, p.x.w, p.oh(), p.ow());
    expect_bitwise_equal(gy.download(), y, "y");
    expect_bitwise_equal(garg.download(), argmax, "argmax");
    expect_close(gdx.download(), dx, 1e-6, "dx");  // overlapping windows add in another order
    gy.expect_guards_intact();
    garg.expect_guards_intact();
    gdx.expect_guards_intact();
  }
}

TEST_P(CudaPool, AvgPoolMatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const PoolCase p = GetParam();
  const int64_t planes = p.x.n * p.x.c, outs = planes * p.oh() * p.ow();
  std::vector<float> x = random_floats(p.x.numel(), rng), dy = random_floats(outs, rng);
  std::vector<float> y(static_cast<size_t>(outs)), dx(x.size());
  kernels::avg_pool2d_forward<Device::CPU>(y.data(), x.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(), p.kernel, p.stride,
                                           p.padding);
  kernels::avg_pool2d_backward<Device::CPU>(dx.data(), dy.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(), p.kernel,
                                            p.stride, p.padding);
  Guarded<float> gx = on_device(x), gdy = on_device(dy), gy(outs), gdx(p.x.numel());
  MX_CUDA_KERNEL(avg_pool2d_forward)(gy.data(), gx.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(), p.kernel, p.stride,
                                     p.padding);
  MX_CUDA_KERNEL(avg_pool2d_backward)(gdx.data(), gdy.data(), planes, p.x.h, p.x.w, p.oh(), p.ow(), p.kernel, p.stride,
                                      p.padding);
  expect_close(gy.download(), y, 1e-6, "y");
  expect_close(gdx.download(), dx, 1e-6, "dx");
  gy.expect_guards_intact();
  gdx.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Windows, CudaPool,
                         ::testing::Values(PoolCase{{1, 1, 5, 5}, 2, 2, 0}, PoolCase{{3, 5, 7, 9}, 3, 2, 1},
                                           PoolCase{{2, 3, 8, 8}, 3, 1, 1}, PoolCase{{4, 2, 6, 7}, 2, 1, 0},
                                           PoolCase{{1, 3, 32, 32}, 2, 2, 0}, PoolCase{{2, 4, 5, 6}, 4, 3, 2},
                                           PoolCase{{5, 3, 28, 28}, 2, 2, 0}));

class CudaGlobalPool : public CudaTest, public ::testing::WithParamInterface<std::pair<int64_t, int64_t>> {};

TEST_P(CudaGlobalPool, MatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const auto [planes, hw] = GetParam();
  std::vector<float> x = random_floats(planes * hw, rng), dy = random_floats(planes, rng);
  std::vector<float> y(static_cast<size_t>(planes)), dx(x.size());
  kernels::global_avg_pool_forward<Device::CPU>(y.data(), x.data(), planes, hw);
  kernels::global_avg_pool_backward<Device::CPU>(dx.data(), dy.data(), planes, hw);
  Guarded<float> gx = on_device(x), gdy = on_device(dy), gy(planes), gdx(planes * hw);
  MX_CUDA_KERNEL(global_avg_pool_forward)(gy.data(), gx.data(), planes, hw);
  MX_CUDA_KERNEL(global_avg_pool_backward)(gdx.data(), gdy.data(), planes, hw);
  expect_close(gy.download(), y, 1e-5, "y");  // a float sum in another order
  expect_bitwise_equal(gdx.download(), dx, "dx");
  gy.expect_guards_intact();
  gdx.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Planes, CudaGlobalPool,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1}, std::pair<int64_t, int64_t>{7, 3},
                                           std::pair<int64_t, int64_t>{300, 16}, std::pair<int64_t, int64_t>{5, 1024},
                                           std::pair<int64_t, int64_t>{64, 1031}));

// ---- concat ----

TEST_F(CudaTest, CopyChannelsWritesOnlyItsSlot) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = 3, src_c = 5, dst_c = 7, ch = 2, src_off = 3, dst_off = 4, hw = 13;
  std::vector<float> src = random_floats(n * src_c * hw, rng);
  Guarded<float> gsrc = on_device(src), gdst(n * dst_c * hw);
  MX_CUDA_KERNEL(copy_channels)(gdst.data(), dst_c, dst_off, gsrc.data(), src_c, src_off, n, ch, hw);
  const std::vector<float> got = gdst.download();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < dst_c; ++c)
      for (int64_t j = 0; j < hw; ++j) {
        const float v = got[static_cast<size_t>((i * dst_c + c) * hw + j)];
        if (c >= dst_off && c < dst_off + ch)
          ASSERT_EQ(v, src[static_cast<size_t>((i * src_c + src_off + c - dst_off) * hw + j)]) << i << " " << c << " " << j;
        else
          ASSERT_EQ(bits_of(v), kPoison) << "wrote outside its slot: image " << i << " channel " << c;
      }
  gdst.expect_guards_intact();
}

// ---- dropout ----

class CudaDropout : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CudaDropout, MaskIsBitIdenticalToCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  const uint64_t key = (static_cast<uint64_t>(rng()) << 32) | rng();
  std::vector<float> x = random_floats(n, rng), want(x.size());
  Guarded<float> gx = on_device(x), out(n);
  for (float p : {0.1f, 0.5f, 0.9f}) {
    kernels::dropout_apply<Device::CPU>(want.data(), x.data(), n, p, 1.f / (1.f - p), key);
    MX_CUDA_KERNEL(dropout_apply)(out.data(), gx.data(), n, p, 1.f / (1.f - p), key);
    expect_bitwise_equal(out.download(), want, "dropout");
  }
  MX_CUDA_KERNEL(dropout_apply)(gx.data(), gx.data(), n, 0.5f, 2.f, key);  // in place
  kernels::dropout_apply<Device::CPU>(want.data(), x.data(), n, 0.5f, 2.f, key);
  expect_bitwise_equal(gx.download(), want, "dropout in place");
  out.expect_guards_intact();
  gx.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaDropout, ::testing::Values(1, 3, 4, 5, 1001, (1 << 20) + 1));

// ---- cross-entropy ----

class CudaCrossEntropy : public CudaTest, public ::testing::WithParamInterface<std::pair<int64_t, int64_t>> {};

TEST_P(CudaCrossEntropy, ForwardAndBackwardMatchCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const auto [n, k] = GetParam();
  std::vector<float> logits = random_floats(n * k, rng, -5.f, 5.f), lam = random_floats(n, rng, 0.f, 1.f);
  std::vector<int32_t> ya(static_cast<size_t>(n)), yb(static_cast<size_t>(n));
  for (size_t i = 0; i < ya.size(); ++i) {
    ya[i] = static_cast<int32_t>(rng() % k);
    yb[i] = i % 3 == 0 ? ya[i] : static_cast<int32_t>(rng() % k);  // some samples mix with their own class
  }
  std::vector<float> loss(1), lse(static_cast<size_t>(n)), dlogits(logits.size()), dloss{1.3f};
  kernels::mixed_cross_entropy_forward<Device::CPU>(loss.data(), lse.data(), logits.data(), ya.data(), yb.data(),
                                                    lam.data(), n, k);
  kernels::mixed_cross_entropy_backward<Device::CPU>(dlogits.data(), dloss.data(), logits.data(), lse.data(), ya.data(),
                                                     yb.data(), lam.data(), n, k);
  Guarded<float> glogits = on_device(logits), glam = on_device(lam), gdloss = on_device(dloss), gloss(1), glse(n),
                 gd(n * k);
  Guarded<int32_t> gya(n), gyb(n);
  gya.upload(ya);
  gyb.upload(yb);
  MX_CUDA_KERNEL(mixed_cross_entropy_forward)(gloss.data(), glse.data(), glogits.data(), gya.data(), gyb.data(),
                                              glam.data(), n, k);
  MX_CUDA_KERNEL(mixed_cross_entropy_backward)(gd.data(), gdloss.data(), glogits.data(), glse.data(), gya.data(),
                                               gyb.data(), glam.data(), n, k);
  expect_close(gloss.download(), loss, 1e-6, "loss");
  expect_close(glse.download(), lse, 1e-6, "lse");
  expect_close(gd.download(), dlogits, 1e-5, "dlogits", dloss[0] / static_cast<double>(n));
  for (const Guarded<float>* g : {&gloss, &glse, &gd}) g->expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaCrossEntropy,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1}, std::pair<int64_t, int64_t>{1, 10},
                                           std::pair<int64_t, int64_t>{5, 10}, std::pair<int64_t, int64_t>{129, 100},
                                           std::pair<int64_t, int64_t>{7, 1000}, std::pair<int64_t, int64_t>{2001, 10}));

// ---- SGD ----

class CudaSgd : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CudaSgd, ThreeStepsMatchCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  struct Setting {
    float momentum, wd;
    bool nesterov;
  };
  for (Setting st : {Setting{0.9f, 1e-4f, true}, Setting{0.9f, 5e-4f, false}, Setting{0.f, 0.f, false}}) {
    SCOPED_TRACE("momentum " + std::to_string(st.momentum) + (st.nesterov ? " nesterov" : ""));
    std::vector<float> w = random_floats(n, rng), buf(static_cast<size_t>(n), 0.f);
    Guarded<float> gw = on_device(w), gbuf = on_device(buf), gg(n);
    for (int step = 0; step < 3; ++step) {
      std::vector<float> g = random_floats(n, rng);
      gg.upload(g);
      kernels::sgd_step<Device::CPU>(w.data(), g.data(), buf.data(), n, 0.05f, st.momentum, st.wd, st.nesterov,
                                     step == 0, nullptr);
      MX_CUDA_KERNEL(sgd_step)(gw.data(), gg.data(), gbuf.data(), n, 0.05f, st.momentum, st.wd, st.nesterov, step == 0,
                               nullptr);
    }
    expect_close(gw.download(), w, 1e-6, "weights");
    expect_close(gbuf.download(), buf, 1e-6, "momentum buffer");
    gw.expect_guards_intact();
    gbuf.expect_guards_intact();
  }
}

// Under a set skip flag (on the device, as the step guard leaves it) nothing changes, bit for bit.
TEST_P(CudaSgd, SetSkipFlagLeavesWeightsAndMomentumUnchanged) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  const std::vector<float> w = random_floats(n, rng), buf = random_floats(n, rng), g = random_floats(n, rng);
  Guarded<float> gw = on_device(w), gbuf = on_device(buf), gg = on_device(g), flag = on_device(std::vector<float>{1.f});
  MX_CUDA_KERNEL(sgd_step)(gw.data(), gg.data(), gbuf.data(), n, 0.05f, 0.9f, 1e-4f, true, false, flag.data());
  expect_bitwise_equal(gw.download(), w, "weights");
  expect_bitwise_equal(gbuf.download(), buf, "momentum buffer");
  flag.upload({0.f});
  std::vector<float> want_w = w, want_buf = buf;
  kernels::sgd_step<Device::CPU>(want_w.data(), g.data(), want_buf.data(), n, 0.05f, 0.9f, 1e-4f, true, false, nullptr);
  MX_CUDA_KERNEL(sgd_step)(gw.data(), gg.data(), gbuf.data(), n, 0.05f, 0.9f, 1e-4f, true, false, flag.data());
  expect_close(gw.download(), want_w, 1e-6, "weights after a clear flag");
  expect_close(gbuf.download(), want_buf, 1e-6, "momentum after a clear flag");
  gw.expect_guards_intact();
  gbuf.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaSgd, ::testing::Values(1, 1000, (1 << 20) + 3));

// ---- step guard ----

// The record of random gradients, then of the same with a NaN or an infinity at a random place, and
// with a non-finite loss that decides or not: the norm within float rounding of the CPU twin's (both
// sum in double, in different orders), the loss and the flag equal.
class CudaStepGuard : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CudaStepGuard, RecordMatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> g = random_floats(n, rng);
  struct Case {
    float poison, loss;
    bool loss_decides;
  };
  for (Case c : {Case{0.f, 1.5f, true}, Case{nan, 1.5f, true}, Case{inf, 1.5f, false}, Case{0.f, nan, true},
                 Case{0.f, inf, false}}) {
    SCOPED_TRACE("poison " + std::to_string(c.poison) + ", loss " + std::to_string(c.loss));
    std::vector<float> grads = g;
    if (c.poison != 0.f) grads[std::uniform_int_distribution<size_t>(0, grads.size() - 1)(rng)] = c.poison;
    std::vector<float> want(kernels::kGuardColumns);
    kernels::step_guard<Device::CPU>(want.data(), grads.data(), n, &c.loss, c.loss_decides);
    Guarded<float> gg = on_device(grads), gloss = on_device(std::vector<float>{c.loss}), rec(kernels::kGuardColumns);
    MX_CUDA_KERNEL(step_guard)(rec.data(), gg.data(), n, gloss.data(), c.loss_decides);
    const std::vector<float> got = rec.download();
    if (std::isfinite(want[0])) expect_close({got[0]}, {want[0]}, 1e-6, "norm");
    else EXPECT_TRUE(std::isnan(got[0]) == std::isnan(want[0]) && !std::isfinite(got[0])) << got[0] << " " << want[0];
    expect_bitwise_equal(std::vector<float>(got.begin() + 1, got.end()), std::vector<float>(want.begin() + 1, want.end()),
                         "loss and flag");
    rec.expect_guards_intact();
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaStepGuard, ::testing::Values(1, 7, 1000, (1 << 20) + 3, (1 << 24) + 5));

// ---- fused batch mixup ----

std::vector<kernels::MixSample> random_plan(const Nchw& s, std::mt19937& rng) {
  return test::random_plan(s.n, s.h, s.w, rng);
}

// The samples on the device, as the front-end uploads them.
Tensor upload_plan(const std::vector<kernels::MixSample>& plan) {
  return bytes_on(Device::CUDA, plan.data(), plan.size() * sizeof(kernels::MixSample));
}

// Compares sample by sample: copies and pastes exactly, blends within float32 rounding.
void expect_mix_matches(const std::vector<float>& got, const std::vector<float>& want,
                        const std::vector<kernels::MixSample>& plan, int64_t image) {
  for (size_t i = 0; i < plan.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i) + " op " + std::to_string(plan[i].op));
    const auto begin = static_cast<std::ptrdiff_t>(i * static_cast<size_t>(image));
    std::vector<float> g(got.begin() + begin, got.begin() + begin + image), w(want.begin() + begin, want.begin() + begin + image);
    if (plan[i].op == kernels::kBlend) expect_close(g, w, 1e-6, "blend");
    else expect_bitwise_equal(g, w, "copy or paste");
  }
}

class CudaMixBatch : public CudaTest, public ::testing::WithParamInterface<Nchw> {};

TEST_P(CudaMixBatch, MatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const Nchw s = GetParam();
  const std::vector<kernels::MixSample> plan = random_plan(s, rng);
  const std::vector<float> x = random_floats(s.numel(), rng);
  std::vector<float> want(x.size());
  kernels::mix_batch<Device::CPU>(want.data(), x.data(), plan.data(), s.n, s.c, s.h, s.w);
  Tensor dplan = upload_plan(plan);
  const auto* dp = static_cast<const kernels::MixSample*>(dplan.raw());
  Guarded<float> gx = on_device(x), out(s.numel());
  MX_CUDA_KERNEL(mix_batch)(out.data(), gx.data(), dp, s.n, s.c, s.h, s.w);
  expect_mix_matches(out.download(), want, plan, s.c * s.h * s.w);
  out.expect_guards_intact();
  // An output 4 bytes off 16-byte alignment takes the scalar path.
  Guarded<float> shifted(s.numel() + 1);
  MX_CUDA_KERNEL(mix_batch)(shifted.data() + 1, gx.data(), dp, s.n, s.c, s.h, s.w);
  std::vector<float> got = shifted.download();
  ASSERT_EQ(bits_of(got[0]), kPoison) << "wrote before a shifted output";
  expect_mix_matches(std::vector<float>(got.begin() + 1, got.end()), want, plan, s.c * s.h * s.w);
  shifted.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaMixBatch,
                         ::testing::Values(Nchw{1, 1, 1, 1}, Nchw{1, 3, 5, 7}, Nchw{5, 3, 32, 32}, Nchw{7, 1, 28, 28},
                                           Nchw{4, 3, 5, 5}, Nchw{3, 2, 3, 3}, Nchw{6, 1, 2, 2}, Nchw{2, 3, 1, 8},
                                           Nchw{9, 3, 6, 6}, Nchw{128, 3, 32, 32}));

// More samples than a grid has rows (65535): the kernel strides over the batch.
TEST_F(CudaTest, MixBatchCoversBatchesBeyondOneGridRow) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const Nchw s{70001, 1, 2, 2};
  const std::vector<kernels::MixSample> plan = random_plan(s, rng);
  const std::vector<float> x = random_floats(s.numel(), rng);
  std::vector<float> want(x.size());
  kernels::mix_batch<Device::CPU>(want.data(), x.data(), plan.data(), s.n, s.c, s.h, s.w);
  Tensor dplan = upload_plan(plan);
  Guarded<float> gx = on_device(x), out(s.numel());
  MX_CUDA_KERNEL(mix_batch)(out.data(), gx.data(), static_cast<const kernels::MixSample*>(dplan.raw()), s.n, s.c, s.h,
                            s.w);
  expect_mix_matches(out.download(), want, plan, 4);
  out.expect_guards_intact();
}

// ---- batches built from stored uint8 images ----

class CudaAugmentMix : public CudaTest, public ::testing::WithParamInterface<Nchw> {};

TEST_P(CudaAugmentMix, MatchesCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const Nchw s = GetParam();
  const int64_t count = s.n + 3, image = s.c * s.h * s.w;
  const std::vector<uint8_t> stored = test::random_bytes(count * image, rng);
  const std::vector<float> table = random_floats(s.c * 256, rng, -3.f, 3.f);
  const std::vector<kernels::AugmentSample> augment = test::random_augment(s.n, count, s.h, s.w, rng);
  const std::vector<kernels::MixSample> plan = random_plan(s, rng);
  std::vector<float> want(static_cast<size_t>(s.numel()));
  kernels::augment_mix<Device::CPU>(want.data(), stored.data(), table.data(), augment.data(), plan.data(), s.n, s.c,
                                    s.h, s.w);
  const Tensor gstored = Tensor::from_vector(stored, {count, s.c, s.h, s.w}, Device::CUDA);
  const Tensor gaugment = bytes_on(Device::CUDA, augment.data(), augment.size() * sizeof(kernels::AugmentSample));
  const Tensor dplan = upload_plan(plan);
  Guarded<float> gtable = on_device(table), out(s.numel());
  MX_CUDA_KERNEL(augment_mix)(out.data(), gstored.data<uint8_t>(), gtable.data(),
                              static_cast<const kernels::AugmentSample*>(gaugment.raw()),
                              static_cast<const kernels::MixSample*>(dplan.raw()), s.n, s.c, s.h, s.w);
  expect_mix_matches(out.download(), want, plan, image);
  out.expect_guards_intact();
}

// Through the front-end, which packs the augmentations and the plan into one upload: odd batches put
// the plan at a padded offset (7 samples: 168 bytes of augmentations, the plan from byte 176).
TEST_F(CudaTest, AugmentMixFrontEndMatchesTheCpuFrontEnd) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  for (const Nchw s : {Nchw{7, 3, 9, 5}, Nchw{1, 1, 4, 4}, Nchw{13, 2, 6, 7}}) {
    SCOPED_TRACE("batch " + std::to_string(s.n));
    const int64_t count = 2 * s.n + 1;
    const Tensor images = Tensor::from_vector(test::random_bytes(count * s.c * s.h * s.w, rng), {count, s.c, s.h, s.w});
    const Tensor table = Tensor::from_vector(random_floats(s.c * 256, rng, -3.f, 3.f), {s.c * 256});
    const std::vector<kernels::AugmentSample> augment = test::random_augment(s.n, count, s.h, s.w, rng);
    const std::vector<kernels::MixSample> plan = random_plan(s, rng);
    const Tensor want = ops::augment_mix(images, table, augment, plan);
    const Tensor got = ops::augment_mix(images.to(Device::CUDA), table.to(Device::CUDA), augment, plan);
    ASSERT_EQ(got.device(), Device::CUDA);
    expect_mix_matches(got.to(Device::CPU).to_vector<float>(), want.to_vector<float>(), plan, s.c * s.h * s.w);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaAugmentMix,
                         ::testing::Values(Nchw{1, 1, 1, 1}, Nchw{1, 3, 5, 7}, Nchw{7, 1, 28, 28}, Nchw{5, 3, 32, 32},
                                           Nchw{3, 2, 3, 3}, Nchw{2, 3, 1, 8}, Nchw{128, 3, 32, 32},
                                           Nchw{70001, 1, 2, 2}));

}  // namespace

#ifdef MIXUP_HAVE_CUDA
#include "kernels/philox.h"
#include "tests/cuda_probe.h"

namespace {

// The generator behind dropout and the weighted-noise perturbation: words, uniforms and normals
// drawn on the GPU equal the host's bit for bit.
TEST_F(CudaTest, PhiloxDrawsAreBitIdenticalToTheHost) {
  FreshSeed seed;
  const int64_t blocks = 100003;
  const uint64_t key = (static_cast<uint64_t>(seed.value) << 32) | 0x9E37u, stream = 7;
  Guarded<uint32_t> words(4 * blocks);
  Guarded<float> normals(4 * blocks);
  mx::test::philox_on_device(words.data(), normals.data(), blocks, key, stream);
  std::vector<uint32_t> want_words(static_cast<size_t>(4 * blocks));
  std::vector<float> want_normals(want_words.size());
  for (int64_t c = 0; c < blocks; ++c) {
    const kernels::Philox4 r = kernels::philox(key, static_cast<uint64_t>(c), stream);
    for (int k = 0; k < 4; ++k) want_words[static_cast<size_t>(4 * c + k)] = r.v[k];
    float* z = want_normals.data() + 4 * c;
    kernels::normal_pair(r.v[0], r.v[1], z[0], z[1]);
    kernels::normal_pair(r.v[2], r.v[3], z[2], z[3]);
  }
  expect_bitwise_equal(words.download(), want_words, "philox words");
  expect_bitwise_equal(normals.download(), want_normals, "normal_pair");
  words.expect_guards_intact();
  normals.expect_guards_intact();
}

}  // namespace
#endif

// ---- GAN ops: instance norm, reflection padding, per-channel bias (MixCycleGAN) ----

#include "kernels/channel_bias.h"
#include "kernels/instance_norm.h"
#include "kernels/reflection_pad.h"

namespace {

class CudaInstanceNorm : public CudaTest, public ::testing::WithParamInterface<Nchw> {
 protected:
  // Inputs away from zero mean, so the variance is a difference of large sums.
  void draw(uint32_t seed) {
    std::mt19937 rng(seed);
    const Nchw s = GetParam();
    x = random_floats(s.numel(), rng, 1.f, 5.f);
    dy = random_floats(s.numel(), rng);
    gamma = random_floats(s.c, rng, 0.5f, 1.5f);
    beta = random_floats(s.c, rng, -0.5f, 0.5f);
  }
  std::vector<float> x, dy, gamma, beta;
};

// Forward and backward, affine or not, dx wanted or not. The GPU sums each plane in the block's order,
// the CPU in its own: a few ulps. The backward on both sides starts from the CPU's statistics.
TEST_P(CudaInstanceNorm, ForwardAndBackwardMatchCpuTwin) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w, planes = s.n * s.c;
  for (bool affine : {true, false}) {
    SCOPED_TRACE(affine ? "affine" : "no affine");
    const float *g = affine ? gamma.data() : nullptr, *b = affine ? beta.data() : nullptr;
    std::vector<float> y(x.size()), mean(static_cast<size_t>(planes)), invstd(mean.size());
    kernels::instance_norm_forward<Device::CPU>(y.data(), mean.data(), invstd.data(), x.data(), g, b, s.n, s.c, hw,
                                                1e-5f);
    Guarded<float> gx = on_device(x), gg = on_device(gamma), gb = on_device(beta), gy(s.numel()), gmean(planes),
                   ginv(planes);
    MX_CUDA_KERNEL(instance_norm_forward)(gy.data(), gmean.data(), ginv.data(), gx.data(), affine ? gg.data() : nullptr,
                                          affine ? gb.data() : nullptr, s.n, s.c, hw, 1e-5f);
    expect_close(gy.download(), y, 1e-5, "y");
    expect_close(gmean.download(), mean, 1e-6, "save_mean");
    expect_close(ginv.download(), invstd, 1e-6, "save_invstd");
    for (const Guarded<float>* t : {&gy, &gmean, &ginv}) t->expect_guards_intact();
    for (bool want_dx : {true, false}) {
      SCOPED_TRACE(want_dx ? "dx" : "no dx");
      std::vector<float> dx(x.size()), dgamma(gamma.size()), dbeta(gamma.size());
      kernels::instance_norm_backward<Device::CPU>(want_dx ? dx.data() : nullptr, affine ? dgamma.data() : nullptr,
                                                   affine ? dbeta.data() : nullptr, dy.data(), x.data(), g, mean.data(),
                                                   invstd.data(), s.n, s.c, hw);
      Guarded<float> gdy = on_device(dy), gm = on_device(mean), gi = on_device(invstd), gdx(s.numel()), gdg(s.c),
                     gdb(s.c);
      MX_CUDA_KERNEL(instance_norm_backward)(want_dx ? gdx.data() : nullptr, affine ? gdg.data() : nullptr,
                                             affine ? gdb.data() : nullptr, gdy.data(), gx.data(),
                                             affine ? gg.data() : nullptr, gm.data(), gi.data(), s.n, s.c, hw);
      if (want_dx) expect_close(gdx.download(), dx, 1e-5, "dx");
      if (affine) {
        expect_close(gdg.download(), dgamma, 1e-5, "dgamma");
        expect_close(gdb.download(), dbeta, 1e-5, "dbeta");
      }
      for (const Guarded<float>* t : {&gdx, &gdg, &gdb}) t->expect_guards_intact();
    }
  }
}

// Each plane's sums run in a fixed order: two runs of the forward and backward agree bit for bit.
TEST_P(CudaInstanceNorm, RepeatsBitForBit) {
  FreshSeed seed;
  draw(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w, planes = s.n * s.c;
  const char* names[] = {"y", "save_mean", "save_invstd", "dx", "dgamma", "dbeta"};
  const auto run = [&] {
    Guarded<float> gx = on_device(x), gdy = on_device(dy), gg = on_device(gamma), gb = on_device(beta),
                   gy(s.numel()), gmean(planes), ginv(planes), gdx(s.numel()), gdg(s.c), gdb(s.c);
    MX_CUDA_KERNEL(instance_norm_forward)(gy.data(), gmean.data(), ginv.data(), gx.data(), gg.data(), gb.data(), s.n,
                                          s.c, hw, 1e-5f);
    MX_CUDA_KERNEL(instance_norm_backward)(gdx.data(), gdg.data(), gdb.data(), gdy.data(), gx.data(), gg.data(),
                                           gmean.data(), ginv.data(), s.n, s.c, hw);
    std::vector<std::vector<float>> results;
    for (const Guarded<float>* t : {&gy, &gmean, &ginv, &gdx, &gdg, &gdb}) results.push_back(t->download());
    return results;
  };
  const std::vector<std::vector<float>> first = run(), second = run();
  for (size_t i = 0; i < first.size(); ++i) expect_bitwise_equal(second[i], first[i], names[i]);
}

// Tiny and odd planes, many planes, the generator's 64 channels at 64x64 and planes of 16770 values
// (the 1024-thread blocks).
INSTANTIATE_TEST_SUITE_P(Shapes, CudaInstanceNorm,
                         ::testing::Values(Nchw{1, 3, 5, 7}, Nchw{2, 1, 1, 3}, Nchw{33, 7, 3, 3}, Nchw{4, 5, 2, 2},
                                           Nchw{2, 64, 64, 64}, Nchw{1, 3, 130, 129}));

struct PadCase {
  Nchw x;
  int pad;
  int64_t out_numel() const { return x.n * x.c * (x.h + 2 * pad) * (x.w + 2 * pad); }
};
void PrintTo(const PadCase& p, std::ostream* os) {
  PrintTo(p.x, os);
  *os << " pad " << p.pad;
}

class CudaReflectionPad : public CudaTest, public ::testing::WithParamInterface<PadCase> {};

// Both directions copy, or add the same at most nine values in the same order, as the CPU twin.
TEST_P(CudaReflectionPad, MatchesCpuTwinBitForBit) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const PadCase p = GetParam();
  const int64_t planes = p.x.n * p.x.c;
  std::vector<float> x = random_floats(p.x.numel(), rng), dy = random_floats(p.out_numel(), rng);
  std::vector<float> y(dy.size()), dx(x.size());
  kernels::reflection_pad2d_forward<Device::CPU>(y.data(), x.data(), planes, p.x.h, p.x.w, p.pad);
  kernels::reflection_pad2d_backward<Device::CPU>(dx.data(), dy.data(), planes, p.x.h, p.x.w, p.pad);
  Guarded<float> gx = on_device(x), gdy = on_device(dy), gy(p.out_numel()), gdx(p.x.numel());
  MX_CUDA_KERNEL(reflection_pad2d_forward)(gy.data(), gx.data(), planes, p.x.h, p.x.w, p.pad);
  MX_CUDA_KERNEL(reflection_pad2d_backward)(gdx.data(), gdy.data(), planes, p.x.h, p.x.w, p.pad);
  expect_bitwise_equal(gy.download(), y, "y");
  expect_bitwise_equal(gdx.download(), dx, "dx");
  gy.expect_guards_intact();
  gdx.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Pads, CudaReflectionPad,
                         ::testing::Values(PadCase{{1, 1, 2, 2}, 1}, PadCase{{3, 5, 7, 9}, 3}, PadCase{{2, 3, 4, 6}, 3},
                                           PadCase{{5, 2, 5, 5}, 0}, PadCase{{2, 16, 64, 64}, 1},
                                           PadCase{{1, 3, 256, 256}, 3}));

class CudaChannelBias : public CudaTest, public ::testing::WithParamInterface<Nchw> {};

// The add is the CPU's one addition per element; the gradient sums in double in another order.
TEST_P(CudaChannelBias, AddBitForBitAndGradientClose) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const Nchw s = GetParam();
  const int64_t hw = s.h * s.w;
  std::vector<float> y = random_floats(s.numel(), rng), bias = random_floats(s.c, rng), dbias(bias.size());
  Guarded<float> gy = on_device(y), gbias = on_device(bias), gdbias(s.c);
  MX_CUDA_KERNEL(channel_bias_backward)(gdbias.data(), gy.data(), s.n, s.c, hw);
  kernels::channel_bias_backward<Device::CPU>(dbias.data(), y.data(), s.n, s.c, hw);
  expect_close(gdbias.download(), dbias, 1e-6, "dbias");
  MX_CUDA_KERNEL(channel_bias_forward)(gy.data(), gbias.data(), s.n, s.c, hw);
  kernels::channel_bias_forward<Device::CPU>(y.data(), bias.data(), s.n, s.c, hw);
  expect_bitwise_equal(gy.download(), y, "y");
  gy.expect_guards_intact();
  gdbias.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaChannelBias,
                         ::testing::Values(Nchw{1, 1, 1, 1}, Nchw{3, 5, 7, 9}, Nchw{33, 7, 3, 3}, Nchw{2, 128, 64, 64},
                                           Nchw{1, 3, 130, 129}));
}  // namespace

// ---- fused Adam ----

#include "engine/optim.h"

namespace {

class CudaAdam : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

// Three steps of each setting, with the scalars Adam::step passes at t = 1, 2, 3.
TEST_P(CudaAdam, ThreeStepsMatchCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam();
  for (optim::AdamOptions o : {optim::AdamOptions{}, optim::AdamOptions{0.5f, 0.999f, 1e-8f, 1e-2f}}) {
    SCOPED_TRACE("beta1 " + std::to_string(o.beta1) + " wd " + std::to_string(o.weight_decay));
    std::vector<float> w = random_floats(n, rng), m(static_cast<size_t>(n), 0.f), v = m;
    Guarded<float> gw = on_device(w), gm = on_device(m), gv = on_device(v), gg(n);
    for (int t = 1; t <= 3; ++t) {
      std::vector<float> g = random_floats(n, rng);
      gg.upload(g);
      const kernels::AdamStep s = optim::adam_scalars(o, 1e-2f, t);
      kernels::adam_step<Device::CPU>(w.data(), g.data(), m.data(), v.data(), n, s);
      MX_CUDA_KERNEL(adam_step)(gw.data(), gg.data(), gm.data(), gv.data(), n, s);
    }
    expect_close(gw.download(), w, 1e-6, "weights");
    expect_close(gm.download(), m, 1e-6, "first moment");
    expect_close(gv.download(), v, 1e-6, "second moment");
    gw.expect_guards_intact();
    gm.expect_guards_intact();
    gv.expect_guards_intact();
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaAdam, ::testing::Values(1, 7, 1000, (1 << 20) + 3));

}  // namespace

// ---- GAN activations, per-sample blend and pointwise losses (MixCycleGAN) ----

#include "kernels/pointwise_loss.h"

namespace {

class CudaGanElementwise : public CudaTest, public ::testing::WithParamInterface<int64_t> {};

// Libm and the device's tanhf / expf differ by an ulp or two; the rest is the CPU's arithmetic.
TEST_P(CudaGanElementwise, ActivationsAndBlendMatchCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const int64_t n = GetParam(), per = n % 7 == 0 ? 7 : 1;
  std::vector<float> x = random_floats(n, rng), dy = random_floats(n, rng), want(static_cast<size_t>(n));
  std::vector<float> lam = random_floats(n / per, rng), want2(static_cast<size_t>(n));
  Guarded<float> gx = on_device(x), gdy = on_device(dy), glam = on_device(lam), out(n), out2(n);

  kernels::scale_forward<Device::CPU>(want.data(), x.data(), -1.7f, n);
  MX_CUDA_KERNEL(scale_forward)(out.data(), gx.data(), -1.7f, n);
  expect_bitwise_equal(out.download(), want, "scale_forward");
  kernels::tanh_forward<Device::CPU>(want.data(), x.data(), n);
  MX_CUDA_KERNEL(tanh_forward)(out.data(), gx.data(), n);
  expect_close(out.download(), want, 1e-6, "tanh_forward");
  kernels::tanh_backward<Device::CPU>(want.data(), dy.data(), x.data(), n);
  MX_CUDA_KERNEL(tanh_backward)(out.data(), gdy.data(), gx.data(), n);
  expect_bitwise_equal(out.download(), want, "tanh_backward");
  kernels::sigmoid_forward<Device::CPU>(want.data(), x.data(), n);
  MX_CUDA_KERNEL(sigmoid_forward)(out.data(), gx.data(), n);
  expect_close(out.download(), want, 1e-6, "sigmoid_forward");
  kernels::sigmoid_backward<Device::CPU>(want.data(), dy.data(), x.data(), n);
  MX_CUDA_KERNEL(sigmoid_backward)(out.data(), gdy.data(), gx.data(), n);
  expect_bitwise_equal(out.download(), want, "sigmoid_backward");
  kernels::leaky_relu_forward<Device::CPU>(want.data(), x.data(), 0.2f, n);
  MX_CUDA_KERNEL(leaky_relu_forward)(out.data(), gx.data(), 0.2f, n);
  expect_bitwise_equal(out.download(), want, "leaky_relu_forward");
  kernels::leaky_relu_backward<Device::CPU>(want.data(), dy.data(), x.data(), 0.2f, n);
  MX_CUDA_KERNEL(leaky_relu_backward)(out.data(), gdy.data(), gx.data(), 0.2f, n);
  expect_bitwise_equal(out.download(), want, "leaky_relu_backward");

  kernels::blend_forward<Device::CPU>(want.data(), x.data(), dy.data(), lam.data(), n, per);
  MX_CUDA_KERNEL(blend_forward)(out.data(), gx.data(), gdy.data(), glam.data(), n, per);
  expect_close(out.download(), want, 1e-6, "blend_forward");
  kernels::blend_backward<Device::CPU>(want.data(), want2.data(), dy.data(), lam.data(), n, per);
  MX_CUDA_KERNEL(blend_backward)(out.data(), out2.data(), gdy.data(), glam.data(), n, per);
  expect_close(out.download(), want, 1e-6, "blend_backward da");
  expect_close(out2.download(), want2, 1e-6, "blend_backward db");
  out.expect_guards_intact();
  out2.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaGanElementwise, ::testing::Values(1, 7, 4099, (1 << 20) + 5));

struct LossCase {
  int64_t n, per;
};
inline void PrintTo(const LossCase& c, std::ostream* os) { *os << c.n << "/" << c.per; }

class CudaPointwiseLoss : public CudaTest, public ::testing::WithParamInterface<LossCase> {};

// Both twins sum in double, in different orders: the means agree to double rounding, far below float's.
TEST_P(CudaPointwiseLoss, ForwardAndBackwardMatchCpuTwin) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const auto [n, per] = GetParam();
  std::vector<float> x = random_floats(n, rng), t = random_floats(per == 1 ? n : n / per, rng);
  std::vector<float> dloss{0.73f}, want(1), dx(static_cast<size_t>(n)), dt(static_cast<size_t>(n));
  Guarded<float> gx = on_device(x), gt = on_device(t), gdl = on_device(dloss), gloss(1), gdx(n), gdt(n);
  for (kernels::PointLoss kind : {kernels::PointLoss::kL1, kernels::PointLoss::kMse, kernels::PointLoss::kBceWithLogits}) {
    SCOPED_TRACE("loss kind " + std::to_string(static_cast<int>(kind)));
    kernels::pointwise_loss_forward<Device::CPU>(want.data(), x.data(), t.data(), n, per, kind);
    MX_CUDA_KERNEL(pointwise_loss_forward)(gloss.data(), gx.data(), gt.data(), n, per, kind);
    expect_close(gloss.download(), want, 1e-6, "loss");
    float* dt_cpu = per == 1 ? dt.data() : nullptr;
    kernels::pointwise_loss_backward<Device::CPU>(dx.data(), dt_cpu, dloss.data(), x.data(), t.data(), n, per, kind);
    MX_CUDA_KERNEL(pointwise_loss_backward)(gdx.data(), per == 1 ? gdt.data() : nullptr, gdl.data(), gx.data(),
                                            gt.data(), n, per, kind);
    expect_close(gdx.download(), dx, 1e-6, "dx");
    if (per == 1) expect_close(gdt.download(), dt, 1e-6, "dt");
  }
  gloss.expect_guards_intact();
  gdx.expect_guards_intact();
  gdt.expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Sizes, CudaPointwiseLoss,
                         ::testing::Values(LossCase{1, 1}, LossCase{7, 1}, LossCase{4099, 1}, LossCase{30 * 30, 30 * 30},
                                           LossCase{3 * 961, 961}, LossCase{(1 << 20) + 5, 1}));

}  // namespace
