// The CUDA backend behind the op front-ends: cuDNN convolution and cuBLAS linear layers against the
// CPU backend (FP32 arithmetic, no TF32, so float32 rounding bounds the difference), a small network of
// every op through autograd on both devices, tensors on the device, and one-line errors. Skipped
// without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include <cstdlib>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "tests/cuda_fixtures.h"
#include "tests/expect_error.h"

using namespace mx;
using namespace mx::test;

namespace {

// ---- convolution ----

struct ConvCase {
  Nchw x;
  int64_t o, kh, kw;
  int stride, padding, groups;
  bool bias;
  kernels::ConvShape shape() const {
    kernels::ConvShape s{x.n, x.c, x.h, x.w, o, kh, kw, 0, 0, stride, padding, groups};
    s.oh = (x.h + 2 * padding - kh) / stride + 1;
    s.ow = (x.w + 2 * padding - kw) / stride + 1;
    return s;
  }
};
void PrintTo(const ConvCase& k, std::ostream* os) {
  PrintTo(k.x, os);
  *os << " w[" << k.o << "," << k.x.c / k.groups << "," << k.kh << "," << k.kw << "] stride " << k.stride
      << " padding " << k.padding << " groups " << k.groups << (k.bias ? " bias" : "");
}

class CudaConv : public CudaTest, public ::testing::WithParamInterface<ConvCase> {};

// FP32 FMA algorithms sum up to C/groups*kh*kw products in their own order: 1e-4 of the typical
// output is ~100 times the expected rounding difference, and far below any indexing mistake.
TEST_P(CudaConv, ForwardAndBackwardMatchCpu) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const ConvCase k = GetParam();
  const kernels::ConvShape s = k.shape();
  const int64_t wn = s.o * (s.c / s.groups) * s.kh * s.kw, yn = s.n * s.o * s.oh * s.ow;
  std::vector<float> x = random_floats(k.x.numel(), rng), w = random_floats(wn, rng), b = random_floats(s.o, rng),
                     dy = random_floats(yn, rng);
  std::vector<float> y(static_cast<size_t>(yn)), dx(x.size()), dw(w.size()), db(b.size());
  const float* bias = k.bias ? b.data() : nullptr;
  kernels::conv2d_forward<Device::CPU>(y.data(), x.data(), w.data(), bias, s);
  kernels::conv2d_backward<Device::CPU>(dx.data(), dw.data(), k.bias ? db.data() : nullptr, dy.data(), x.data(),
                                        w.data(), s);

  Guarded<float> gx = on_device(x), gw = on_device(w), gb = on_device(b), gdy = on_device(dy), gy(yn),
                 gdx(k.x.numel()), gdw(wn), gdb(s.o);
  MX_CUDA_KERNEL(conv2d_forward)(gy.data(), gx.data(), gw.data(), k.bias ? gb.data() : nullptr, s);
  MX_CUDA_KERNEL(conv2d_backward)(gdx.data(), gdw.data(), k.bias ? gdb.data() : nullptr, gdy.data(), gx.data(),
                                  gw.data(), s);
  expect_close(gy.download(), y, 1e-4, "y");
  expect_close(gdx.download(), dx, 1e-4, "dx");
  expect_close(gdw.download(), dw, 1e-4, "dweight");
  if (k.bias) expect_close(gdb.download(), db, 1e-4, "dbias");
  for (const Guarded<float>* g : {&gy, &gdx, &gdw, &gdb}) g->expect_guards_intact();

  Guarded<float> only_dw(wn);  // the gradients asked for alone
  MX_CUDA_KERNEL(conv2d_backward)(nullptr, only_dw.data(), nullptr, gdy.data(), gx.data(), gw.data(), s);
  expect_close(only_dw.download(), dw, 1e-4, "dweight alone");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaConv,
    ::testing::Values(ConvCase{{1, 3, 8, 8}, 4, 3, 3, 1, 1, 1, true}, ConvCase{{5, 6, 7, 9}, 4, 3, 3, 2, 1, 2, true},
                      ConvCase{{2, 8, 5, 5}, 8, 3, 3, 1, 1, 8, false}, ConvCase{{3, 16, 4, 4}, 32, 1, 1, 1, 0, 1, false},
                      ConvCase{{4, 3, 32, 32}, 64, 3, 3, 1, 1, 1, false},
                      ConvCase{{7, 64, 8, 8}, 128, 1, 1, 2, 0, 1, false},
                      ConvCase{{1, 5, 6, 6}, 5, 5, 5, 1, 2, 1, true}, ConvCase{{2, 4, 3, 11}, 6, 1, 3, 1, 0, 2, true},
                      ConvCase{{9, 64, 16, 16}, 128, 3, 3, 2, 1, 1, false}));

// ---- linear ----

struct LinearCase {
  int64_t n, in, out;
  bool bias;
};
void PrintTo(const LinearCase& k, std::ostream* os) {
  *os << "x[" << k.n << "," << k.in << "] out " << k.out << (k.bias ? " bias" : "");
}

class CudaLinear : public CudaTest, public ::testing::WithParamInterface<LinearCase> {};

TEST_P(CudaLinear, ForwardAndBackwardMatchCpu) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const auto [n, in, out, has_bias] = GetParam();
  std::vector<float> x = random_floats(n * in, rng), w = random_floats(out * in, rng), b = random_floats(out, rng),
                     dy = random_floats(n * out, rng);
  std::vector<float> y(static_cast<size_t>(n * out)), dx(x.size()), dw(w.size()), db(b.size());
  kernels::linear_forward<Device::CPU>(y.data(), x.data(), w.data(), has_bias ? b.data() : nullptr, n, in, out);
  kernels::linear_backward<Device::CPU>(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), n, in, out);
  Guarded<float> gx = on_device(x), gw = on_device(w), gb = on_device(b), gdy = on_device(dy), gy(n * out),
                 gdx(n * in), gdw(out * in), gdb(out);
  MX_CUDA_KERNEL(linear_forward)(gy.data(), gx.data(), gw.data(), has_bias ? gb.data() : nullptr, n, in, out);
  MX_CUDA_KERNEL(linear_backward)(gdx.data(), gdw.data(), gdb.data(), gdy.data(), gx.data(), gw.data(), n, in, out);
  expect_close(gy.download(), y, 1e-5, "y");
  expect_close(gdx.download(), dx, 1e-5, "dx");
  expect_close(gdw.download(), dw, 1e-5, "dweight");
  expect_close(gdb.download(), db, 1e-5, "dbias");
  for (const Guarded<float>* g : {&gy, &gdx, &gdw, &gdb}) g->expect_guards_intact();
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaLinear,
                         ::testing::Values(LinearCase{1, 7, 3, true}, LinearCase{5, 512, 10, true},
                                           LinearCase{33, 100, 17, false}, LinearCase{128, 512, 10, true},
                                           LinearCase{3, 1, 1, true}));

// ---- every op through autograd ----

// Leaf tensors with the same values on both devices; the network records its graph on either.
struct SmallNet {
  std::vector<Tensor> leaves;  // x, conv1 w/b, bn gamma/beta, conv2 w (groups 4), linear w/b
  Tensor running_mean, running_var, ya, yb, lam;

  SmallNet(uint32_t seed, Device dev) {
    std::mt19937 rng(seed);
    const std::vector<Shape> shapes{{3, 4, 9, 9}, {8, 4, 3, 3}, {8}, {8}, {8}, {8, 2, 3, 3}, {5, 16}, {5}};
    for (const Shape& s : shapes) {
      Tensor t = Tensor::from_vector(random_floats(shape_numel(s), rng, -0.9f, 0.9f), s, dev);
      leaves.push_back(t.set_requires_grad(true));
    }
    running_mean = Tensor::from_vector(random_floats(8, rng), {8}, dev);
    running_var = Tensor::from_vector(random_floats(8, rng, 0.5f, 1.5f), {8}, dev);
    ya = Tensor::from_vector(std::vector<int32_t>{0, 4, 2}, {3}, dev);
    yb = Tensor::from_vector(std::vector<int32_t>{3, 4, 1}, {3}, dev);
    lam = Tensor::from_vector(std::vector<float>{0.3f, 1.f, 0.75f}, {3}, dev);
  }

  Tensor loss() {
    Tensor h = ops::conv2d(leaves[0], leaves[1], leaves[2], {1, 1, 1});
    h = ops::relu(ops::batch_norm2d(h, leaves[3], leaves[4], running_mean, running_var, {}));
    Tensor p = ops::max_pool2d(h, 2, 2);                         // [3, 8, 4, 4]
    Tensor q = ops::conv2d(p, leaves[5], Tensor(), {1, 1, 4});   // grouped
    Tensor r = ops::add(ops::avg_pool2d(q, 3, 1, 1), p);
    Tensor d = ops::dropout(ops::concat_channels({r, q}), 0.25f, 99, true);  // [3, 16, 4, 4]
    Tensor logits = ops::linear(ops::global_avg_pool(d), leaves[6], leaves[7]);
    return ops::mixed_cross_entropy(logits, ya, yb, lam);
  }
};

TEST_F(CudaTest, EveryOpThroughAutogradMatchesCpu) {
  FreshSeed seed;
  SmallNet on_cpu(seed.value, Device::CPU), on_gpu(seed.value, Device::CUDA);
  Tensor lc = on_cpu.loss(), lg = on_gpu.loss();
  lc.backward();
  lg.backward();
  EXPECT_NEAR(lg.item<float>(), lc.item<float>(), 1e-5 * std::fabs(lc.item<float>()));
  for (size_t i = 0; i < on_cpu.leaves.size(); ++i) {
    ASSERT_TRUE(on_gpu.leaves[i].grad().defined()) << "leaf " << i;
    EXPECT_EQ(on_gpu.leaves[i].grad().device(), Device::CUDA);
    EXPECT_LT(relative_error(on_gpu.leaves[i].grad().to_vector<float>(), on_cpu.leaves[i].grad().to_vector<float>()),
              1e-4)
        << "gradient of leaf " << i;
  }
  EXPECT_LT(relative_error(on_gpu.running_mean.to_vector<float>(), on_cpu.running_mean.to_vector<float>()), 1e-5);
  EXPECT_LT(relative_error(on_gpu.running_var.to_vector<float>(), on_cpu.running_var.to_vector<float>()), 1e-5);
}

// ---- tensors on the device ----

TEST_F(CudaTest, TensorsCopyViewFillAndReadBackOnTheDevice) {
  FreshSeed seed;
  std::mt19937 rng(seed.value);
  const std::vector<float> v = random_floats(1003, rng);
  Tensor t = Tensor::from_vector(v, {17, 59}, Device::CUDA);
  EXPECT_EQ(t.device(), Device::CUDA);
  EXPECT_EQ(t.to_vector<float>(), v);
  EXPECT_EQ(t.to(Device::CPU).to_vector<float>(), v);
  EXPECT_EQ(t.clone().to_vector<float>(), v);
  EXPECT_EQ(t.slice(3, 5).to_vector<float>(), std::vector<float>(v.begin() + 3 * 59, v.begin() + 5 * 59));
  EXPECT_EQ(t.slice(16, 17).view({59}).to_vector<float>()[58], v.back());
  Tensor u = Tensor::empty({17, 59}, DType::F32, Device::CUDA);
  u.copy_from(t.to(Device::CPU));
  EXPECT_EQ(u.to_vector<float>(), v);
  u.fill(2.5f);
  EXPECT_EQ(u.to_vector<float>(), std::vector<float>(v.size(), 2.5f));
  u.zero();
  EXPECT_EQ(u.to_vector<float>(), std::vector<float>(v.size(), 0.f));
  EXPECT_EQ(Tensor::full({1}, 4.25f, Device::CUDA).item<float>(), 4.25f);
}

// ---- errors ----

// Device labels are not read back; one outside the classes gives a NaN loss, never an out-of-bounds read.
TEST_F(CudaTest, LabelOutsideTheClassesGivesANanLossOnTheDevice) {
  Tensor logits = Tensor::zeros({2, 10}, DType::F32, Device::CUDA);
  Tensor ya = Tensor::from_vector(std::vector<int32_t>{1, 10}, {2}, Device::CUDA);
  Tensor lam = Tensor::full({2}, 1.f, Device::CUDA);
  EXPECT_TRUE(std::isnan(ops::mixed_cross_entropy(logits, ya, ya, lam).item<float>()));
}

TEST_F(CudaTest, TensorsOnDifferentDevicesAreAOneLineError) {
  Tensor a = Tensor::zeros({4}, DType::F32, Device::CPU), b = Tensor::zeros({4}, DType::F32, Device::CUDA);
  expect_error([&] { ops::add(a, b); }, {"add", "cpu", "cuda"});
}

// With MIXUP_SYNC=1 a fault inside a kernel is reported by the op that caused it. The fault ruins the
// process's CUDA context, so it happens in a child process (a death test that re-runs this binary).
TEST_F(CudaTest, SyncModeNamesTheOpThatFaulted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("MIXUP_SYNC", "1", 1);
        float* unmapped = reinterpret_cast<float*>(uintptr_t{4096});
        try {
          MX_CUDA_KERNEL(relu_forward)(unmapped, unmapped, int64_t{1} << 20);
          std::fprintf(stderr, "no error reported\n");
        } catch (const Error& e) {
          std::fprintf(stderr, "%s\n", e.what());
        }
        std::exit(3);
      },
      ::testing::ExitedWithCode(3), "CUDA op relu_forward failed at .* on cuda:[0-9]+: ");
}

}  // namespace
