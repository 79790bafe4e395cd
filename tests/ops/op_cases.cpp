// The registered ops of the per-op harness (op_cases.h): one block per op front-end of engine/ops.h.
// Adding an op is adding one block here: a struct that describes a case, its awkward cases (batch 1,
// odd batches, C*H*W not a multiple of 8, strides, padding, groups...), and an OpFamily with the case
// name, the input generator, the forward through the front-end and, if there is one, a naive reference.
// Cases too large for finite differences go into large_cases (CUDA comparison and timing only).
#include "tests/ops/op_cases.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "kernels/step_guard.h"
#include "tests/fake_ranks.h"
#include "tests/ops/op_inputs.h"

namespace mx::test {

// ---- the registry ----

namespace {
std::vector<OpCase>& registry() {
  static std::vector<OpCase> cases;
  return cases;
}
}  // namespace

void add_op_case(OpCase c) { registry().push_back(std::move(c)); }
const std::vector<OpCase>& all_op_cases() { return registry(); }

OpInputs& OpInputs::add(std::string name, Tensor value, bool differentiable) {
  list.push_back({std::move(name), std::move(value), differentiable});
  return *this;
}

std::string dims_name(const Shape& sizes, const char* separator) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? separator : "") + std::to_string(sizes[i]);
  return s;
}

namespace {

using detail::concat;

std::vector<double> as_double(const Tensor& t) {
  const std::vector<float> v = t.to_vector<float>();
  return {v.begin(), v.end()};
}

// ---- relu, add, flatten ----

struct Elementwise {
  Shape shape;
};
std::string shape_name(const Elementwise& p) { return dims_name(p.shape); }

Expected relu_reference(const Elementwise& p, const std::vector<Tensor>& t) {
  std::vector<double> y = as_double(t[0]);
  for (double& v : y) v = std::max(v, 0.0);
  return {p.shape, y};
}

[[maybe_unused]] const bool relu_registered = register_op<Elementwise>({
    "relu",
    {{{3, 5, 7}}, {{1}}, {{2, 3, 5, 7}}},  // cases: every check
    {{{5, 100003}}},                        // large cases: device comparison and timing only
    shape_name,                             // the case name after "relu_"
    [](const Elementwise& p, std::mt19937& rng) {  // inputs, clear of the kink at 0
      return OpInputs().add("x", distinct_tensor(p.shape, rng));
    },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::relu(t[0]); },  // the forward
    relu_reference,                                                             // optional
    Tolerances().reference_tol(0)});                                            // exact

[[maybe_unused]] const bool add_registered = register_op<Elementwise>({
    "add",
    {{{2, 9}}, {{1}}, {{3, 5, 7}}},
    {{{5, 100003}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) {
      return OpInputs().add("a", random_tensor(p.shape, rng)).add("b", random_tensor(p.shape, rng));
    },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::add(t[0], t[1]); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      std::vector<double> y = as_double(t[0]), b = as_double(t[1]);
      for (size_t i = 0; i < y.size(); ++i) y[i] += b[i];
      return Expected{p.shape, y};
    },
    Tolerances().reference_tol(0)});

[[maybe_unused]] const bool flatten_registered = register_op<Elementwise>({
    "flatten",
    {{{2, 3, 2, 2}}, {{1, 5, 1, 3}}, {{4, 7}}},
    {},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor(p.shape, rng)); },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::flatten(t[0]); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      return Expected{{p.shape[0], shape_numel(p.shape) / p.shape[0]}, as_double(t[0])};
    },
    Tolerances().reference_tol(0)});

// ---- conv2d ----

struct Conv {
  int64_t n, c, h, w, o, kh, kw;
  int stride, padding, groups;
  bool bias;
  bool weight_only = false;  // x and bias need no gradient: the backward computes dweight alone
  int64_t oh() const { return (h + 2 * padding - kh) / stride + 1; }
  int64_t ow() const { return (w + 2 * padding - kw) / stride + 1; }
};

std::string conv_name(const Conv& k) {
  return concat(k.kh, "x", k.kw, "_s", k.stride, "_pad", k.padding, k.groups > 1 ? concat("_g", k.groups) : "",
                "_batch", k.n, "_", dims_name({k.c, k.h, k.w}), "_to", k.o, k.bias ? "_bias" : "",
                k.weight_only ? "_weightonly" : "");
}

// Direct convolution in double: y[i, oc, r, s] = b[oc] + sum over the group's channels and the taps.
Expected naive_conv(const Conv& k, const std::vector<Tensor>& t) {
  const std::vector<float> x = t[0].to_vector<float>(), wt = t[1].to_vector<float>();
  const std::vector<float> b = k.bias ? t[2].to_vector<float>() : std::vector<float>(k.o, 0.f);
  const int64_t cg = k.c / k.groups, og = k.o / k.groups;
  std::vector<double> y;
  for (int64_t i = 0; i < k.n; ++i)
    for (int64_t oc = 0; oc < k.o; ++oc)
      for (int64_t r = 0; r < k.oh(); ++r)
        for (int64_t s = 0; s < k.ow(); ++s) {
          double acc = b[oc];
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < k.kh; ++a)
              for (int64_t e = 0; e < k.kw; ++e) {
                const int64_t yy = r * k.stride - k.padding + a, xx = s * k.stride - k.padding + e;
                if (yy < 0 || yy >= k.h || xx < 0 || xx >= k.w) continue;
                const int64_t ch = (oc / og) * cg + ci;
                acc += static_cast<double>(x[((i * k.c + ch) * k.h + yy) * k.w + xx]) *
                       wt[((oc * cg + ci) * k.kh + a) * k.kw + e];
              }
          y.push_back(acc);
        }
  return {{k.n, k.o, k.oh(), k.ow()}, y};
}

// Batch 1 and odd batches, C*H*W not a multiple of 8, non-square images and kernels, strides 1 and 2,
// padding 0, 1 and 2, groups 1, 2 and depthwise, the 1x1 fast path and a strided 1x1; "same" width
// convolutions (stride 1, ow == w) take the CPU's block-copy im2col, the others the row-by-row one; and
// the same shapes with the weight's gradient asked for alone. The large ones are the GPU's shapes and
// the CPU's threaded paths: im2col with several images per chunk (9x7 and 4x4 maps) and, with 128
// channels or 64 on 32-wide maps, Winograd (an odd width that cuts tiles, paddings 0, 1 and 2; its
// gradients are checked in test_conv_winograd.cpp).
// FP32 cuDNN algorithms sum up to C/groups*kh*kw products in their own order: 1e-4 of the typical
// output is ~100 times the expected rounding difference, and far below any indexing mistake.
[[maybe_unused]] const bool conv2d_registered = register_op<Conv>({
    "conv2d",
    {{1, 3, 7, 5, 4, 3, 3, 1, 1, 1, true},
     {3, 4, 6, 9, 6, 3, 3, 2, 0, 2, false},
     {2, 5, 5, 7, 5, 3, 3, 1, 1, 5, true},
     {3, 6, 4, 3, 4, 1, 1, 1, 0, 1, true},
     {1, 2, 5, 5, 3, 1, 1, 2, 0, 1, false},
     {2, 3, 9, 8, 2, 3, 3, 2, 1, 1, true},
     {2, 3, 6, 5, 4, 3, 3, 1, 0, 1, true},
     {3, 2, 6, 7, 4, 2, 3, 1, 1, 2, false},
     {1, 1, 4, 6, 2, 5, 5, 1, 2, 1, true},
     {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, true},
     {5, 6, 7, 9, 4, 3, 3, 2, 1, 2, true},
     {2, 8, 5, 5, 8, 3, 3, 1, 1, 8, false},
     {3, 16, 4, 4, 32, 1, 1, 1, 0, 1, false},
     {1, 5, 6, 6, 5, 5, 5, 1, 2, 1, true},
     {2, 4, 3, 11, 6, 1, 3, 1, 0, 2, true},
     {2, 3, 5, 5, 4, 3, 3, 1, 1, 1, false, true},
     {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, true, true},
     {5, 6, 7, 9, 4, 3, 3, 2, 1, 2, true, true},
     {2, 8, 5, 5, 8, 3, 3, 1, 1, 8, false, true},
     {3, 16, 4, 4, 32, 1, 1, 1, 0, 1, false, true},
     {1, 5, 6, 6, 5, 5, 5, 1, 2, 1, true, true},
     {2, 4, 3, 11, 6, 1, 3, 1, 0, 2, true, true}},
    {{4, 3, 32, 32, 64, 3, 3, 1, 1, 1, false},
     {6, 32, 9, 7, 48, 3, 3, 1, 1, 1, true},
     {16, 64, 4, 4, 64, 3, 3, 1, 1, 1, false},
     {4, 128, 6, 5, 128, 3, 3, 1, 1, 1, true},
     {16, 128, 4, 4, 160, 3, 3, 1, 0, 1, false},
     {2, 64, 5, 32, 64, 3, 3, 1, 2, 1, true},
     {16, 64, 4, 4, 64, 3, 3, 1, 1, 1, false, true},
     {4, 128, 6, 5, 128, 3, 3, 1, 1, 1, true, true},
     {7, 64, 8, 8, 128, 1, 1, 2, 0, 1, false},
     {9, 64, 16, 16, 128, 3, 3, 2, 1, 1, false},
     {8, 8, 16, 16, 16, 3, 3, 1, 1, 2, true},
     {4, 3, 32, 32, 64, 3, 3, 1, 1, 1, false, true},
     {7, 64, 8, 8, 128, 1, 1, 2, 0, 1, false, true},
     {9, 64, 16, 16, 128, 3, 3, 2, 1, 1, false, true}},
    conv_name,
    [](const Conv& k, std::mt19937& rng) {
      OpInputs in;
      in.add("x", random_tensor({k.n, k.c, k.h, k.w}, rng), !k.weight_only);
      in.add("weight", random_tensor({k.o, k.c / k.groups, k.kh, k.kw}, rng));
      if (k.bias) in.add("bias", random_tensor({k.o}, rng), !k.weight_only);
      return in;
    },
    [](const Conv& k, std::vector<Tensor>& t) {
      return ops::conv2d(t[0], t[1], k.bias ? t[2] : Tensor(), {k.stride, k.padding, k.groups});
    },
    naive_conv,
    Tolerances().twin(1e-4, 1e-4)});

// ---- linear ----

struct Linear {
  int64_t n, in, out;
  bool bias;
};

Expected naive_linear(const Linear& p, const std::vector<Tensor>& t) {
  const std::vector<float> x = t[0].to_vector<float>(), w = t[1].to_vector<float>();
  const std::vector<float> b = p.bias ? t[2].to_vector<float>() : std::vector<float>(p.out, 0.f);
  std::vector<double> y;
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t o = 0; o < p.out; ++o) {
      double acc = b[o];
      for (int64_t j = 0; j < p.in; ++j) acc += static_cast<double>(x[i * p.in + j]) * w[o * p.in + j];
      y.push_back(acc);
    }
  return {{p.n, p.out}, y};
}

// cuBLAS in FP32 (no TF32) against Eigen: sums of up to 512 products, 1e-5 of the typical size.
[[maybe_unused]] const bool linear_registered = register_op<Linear>({
    "linear",
    {{3, 5, 4, true}, {3, 7, 5, true}, {1, 4, 2, false}, {1, 7, 3, true}, {5, 512, 10, true}, {33, 100, 17, false},
     {3, 1, 1, true}},
    {{128, 512, 10, true}},
    [](const Linear& p) { return concat("batch", p.n, "_", p.in, "to", p.out, p.bias ? "_bias" : ""); },
    [](const Linear& p, std::mt19937& rng) {
      OpInputs in;
      in.add("x", random_tensor({p.n, p.in}, rng)).add("weight", random_tensor({p.out, p.in}, rng));
      if (p.bias) in.add("bias", random_tensor({p.out}, rng));
      return in;
    },
    [](const Linear& p, std::vector<Tensor>& t) { return ops::linear(t[0], t[1], p.bias ? t[2] : Tensor()); },
    naive_linear});

// ---- batch_norm2d ----

struct BatchNorm {
  int64_t n, c, h, w;
  bool training;
};

std::string batch_norm_name(const BatchNorm& p) {
  return concat(p.training ? "train" : "eval", "_batch", p.n, "_", dims_name({p.c, p.h, p.w}));
}

OpInputs batch_norm_inputs(const BatchNorm& p, std::mt19937& rng) {
  return OpInputs()
      .add("x", random_tensor({p.n, p.c, p.h, p.w}, rng, -1.f, 2.f))
      .add("gamma", random_tensor({p.c}, rng, 0.5f, 1.5f))
      .add("beta", random_tensor({p.c}, rng))
      .fixed("running_mean", random_tensor({p.c}, rng))
      .fixed("running_var", random_tensor({p.c}, rng, 0.5f, 2.f));
}

// The forward against a reference and the running statistics are tested in tests/test_ops.cpp; here
// the gradients through batch (training) or running (evaluation) statistics, and the CUDA twin. The
// CPU twin sums planes of 128 values or more one by one (2x8x17, 3x1x130) and shorter ones a block of
// channels at a time (17 and 19 channels: blocks of 3, the last shorter). Its
// reductions over N*H*W sum in another order on the GPU (a block per slice of about 4096 values or
// more, see kernels/batchnorm.cu), and dx cancels terms of the size of dy. The large cases give a
// channel one block (up to 8191 values, or 264 channels and more) or several: 3 slices of 4114 values
// that cut planes of 1763, 17 with a shorter last one, 2 of one plane each, 2 inside a single image.
[[maybe_unused]] const bool batch_norm2d_registered = register_op<BatchNorm>({
    "batch_norm2d",
    {{3, 4, 3, 5, true}, {1, 2, 3, 3, false}, {1, 3, 5, 7, true}, {5, 3, 2, 3, true}, {3, 5, 4, 3, false},
     {2, 2, 8, 17, true}, {2, 3, 1, 130, false}, {2, 17, 2, 3, true}, {1, 19, 1, 3, false}},
    {{16, 64, 8, 8, true}, {7, 3, 33, 17, true}, {16, 64, 8, 8, false}, {2, 264, 64, 64, true},
     {7, 3, 41, 43, true}, {33, 2, 45, 47, true}, {33, 2, 45, 47, false}, {2, 5, 64, 64, true},
     {1, 1, 97, 89, true}},
    batch_norm_name,
    batch_norm_inputs,
    [](const BatchNorm& p, std::vector<Tensor>& t) {
      return ops::batch_norm2d(t[0], t[1], t[2], t[3], t[4], {p.training, 0.1f, 1e-5f});
    },
    {},
    Tolerances().twin(1e-5, 1e-4)});

// ---- batch_norm2d with the fused ReLU ----

// Finite differences must not cross the ReLU's kink. x takes distinct values, and each channel's beta
// puts the kink midway in the widest gap between its normalized values gamma * xhat with |xhat| < 1.
// A step h moves beta by h, gamma by h and so such a value by h * |xhat| < h, and x_i by h, which moves
// its own value by h * gamma * invstd (the others by about 1/N of that): the nearest value must lie
// more than 1.5 h * max(1, gamma * invstd) from the kink. A case whose values lie too close for that
// throws instead of passing by luck.

// The statistics each channel is normalized with: the batch's (training) or the running ones.
std::vector<std::pair<double, double>> mean_and_invstd(const BatchNorm& p, const OpInputs& in) {
  const std::vector<float> x = in.list[0].value.to_vector<float>(), rm = in.list[3].value.to_vector<float>(),
                           rv = in.list[4].value.to_vector<float>();
  const int64_t hw = p.h * p.w, count = p.n * hw;
  std::vector<std::pair<double, double>> out;
  for (int64_t ch = 0; ch < p.c; ++ch) {
    if (!p.training) {
      out.emplace_back(rm[ch], 1.0 / std::sqrt(rv[ch] + 1e-5));
      continue;
    }
    double sum = 0, square_sum = 0;
    for (int64_t i = 0; i < p.n; ++i)
      for (int64_t j = 0; j < hw; ++j) {
        const double v = x[(i * p.c + ch) * hw + j];
        sum += v;
        square_sum += v * v;
      }
    const double mean = sum / count;
    out.emplace_back(mean, 1.0 / std::sqrt(square_sum / count - mean * mean + 1e-5));
  }
  return out;
}

// beta of channel ch: minus the middle of the widest gap between its values gamma * xhat, |xhat| < 1.
float kink_clear_beta(const BatchNorm& p, const std::vector<float>& x, float gamma, double mean, double invstd,
                      int64_t ch) {
  const int64_t hw = p.h * p.w;
  std::vector<double> v;
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t j = 0; j < hw; ++j) {
      const double xhat = (x[(i * p.c + ch) * hw + j] - mean) * invstd;
      if (std::fabs(xhat) < 1) v.push_back(gamma * xhat);
    }
  std::sort(v.begin(), v.end());
  size_t widest = 0;
  for (size_t k = 1; k + 1 < v.size(); ++k)
    if (v[k + 1] - v[k] > v[widest + 1] - v[widest]) widest = k;
  const double margin = 1.5 * Tolerances().fd_eps * std::max(1.0, gamma * invstd);
  MX_CHECK(v.size() >= 2 && (v[widest + 1] - v[widest]) / 2 > margin, "batch_norm2d_relu case ",
           p.n, "x", p.c, "x", p.h, "x", p.w, ": channel ", ch, " has no gap wide enough for the ReLU's kink");
  return static_cast<float>(-(v[widest] + v[widest + 1]) / 2);
}

OpInputs batch_norm_relu_inputs(const BatchNorm& p, std::mt19937& rng) {
  // Values spread over at least 3 (a small channel's tight spread would curve the normalization
  // more than central differences can follow).
  const float spacing = std::max(0.05f, 3.f / static_cast<float>(p.n * p.c * p.h * p.w));
  OpInputs in = OpInputs()
                    .add("x", distinct_tensor({p.n, p.c, p.h, p.w}, rng, spacing))
                    .add("gamma", random_tensor({p.c}, rng, 0.5f, 1.5f))
                    .add("beta", Tensor::zeros({p.c}))
                    .fixed("running_mean", random_tensor({p.c}, rng))
                    .fixed("running_var", random_tensor({p.c}, rng, 0.5f, 2.f));
  const std::vector<float> x = in.list[0].value.to_vector<float>(), gamma = in.list[1].value.to_vector<float>();
  const auto statistics = mean_and_invstd(p, in);
  float* beta = in.list[2].value.data<float>();
  for (int64_t ch = 0; ch < p.c; ++ch)
    beta[ch] = kink_clear_beta(p, x, gamma[ch], statistics[ch].first, statistics[ch].second, ch);
  return in;
}

// The large cases' random inputs, with every value that batch norm would put within 1e-3 of the ReLU's
// kink moved out to 1e-3: the GPU's sums round differently from the CPU's, and a value on the other side
// of the kink there would flip the mask and its gradient (a handful of values, which barely move the
// statistics).
OpInputs batch_norm_relu_large_inputs(const BatchNorm& p, std::mt19937& rng) {
  OpInputs in = batch_norm_inputs(p, rng);
  const auto statistics = mean_and_invstd(p, in);
  const std::vector<float> gamma = in.list[1].value.to_vector<float>(), beta = in.list[2].value.to_vector<float>();
  float* x = in.list[0].value.data<float>();
  const int64_t hw = p.h * p.w;
  for (int64_t k = 0; k < p.n * p.c * hw; ++k) {
    const int64_t ch = (k / hw) % p.c;
    const double scale = gamma[ch] * statistics[ch].second;
    const double v = (x[k] - statistics[ch].first) * scale + beta[ch];
    if (std::fabs(v) < 1e-3) x[k] = static_cast<float>(x[k] + ((v < 0 ? -1e-3 : 1e-3) - v) / scale);
  }
  return in;
}

Tensor batch_norm_relu(const BatchNorm& p, std::vector<Tensor>& t) {
  return ops::batch_norm2d(t[0], t[1], t[2], t[3], t[4], {p.training, 0.1f, 1e-5f, nullptr, true});
}

// tests/test_batch_norm_relu.cpp checks that the fused op equals relu(batch_norm2d) bit for bit on every
// path; here its gradients and its CUDA twin. The large cases have no finite differences, so they take
// random inputs, whose values crowd the kink as a network's do, only just clear of it.
[[maybe_unused]] const bool batch_norm2d_relu_registered = register_op<BatchNorm>({
    "batch_norm2d_relu",
    {{3, 4, 3, 5, true}, {1, 2, 3, 3, false}, {5, 3, 2, 3, true}, {2, 17, 2, 3, true}, {3, 5, 4, 3, false}},
    {},
    batch_norm_name,
    batch_norm_relu_inputs,
    batch_norm_relu,
    {},
    Tolerances().twin(1e-5, 1e-4)});
[[maybe_unused]] const bool batch_norm2d_relu_large_registered = register_op<BatchNorm>({
    "batch_norm2d_relu",
    {},
    {{16, 64, 8, 8, true}, {7, 3, 41, 43, true}, {33, 2, 45, 47, false}, {2, 5, 64, 64, true}},
    batch_norm_name,
    batch_norm_relu_large_inputs,
    batch_norm_relu,
    {},
    Tolerances().twin(1e-5, 1e-4)});

// ---- batch_norm2d synchronized over ranks ----

// Two ranks that hold the same batch (tests/fake_ranks.h): their statistics are the batch's own, so
// finite differences see plain batch norm's gradients, while the forward and backward run the kernels'
// pieces with the all-reduces between them (tests/test_sync_batch_norm.cpp checks ranks with
// different batches).
MirroredRanks& mirrored_pair() {
  static MirroredRanks ranks(2);
  return ranks;
}

[[maybe_unused]] const bool batch_norm2d_sync_registered = register_op<BatchNorm>({
    "batch_norm2d_sync",
    {{3, 5, 7, 3, true}, {1, 3, 5, 7, true}, {2, 1, 1, 3, true}},
    {{16, 64, 8, 8, true}, {7, 3, 41, 43, true}, {33, 2, 45, 47, true}},
    [](const BatchNorm& p) { return concat("batch", p.n, "_", dims_name({p.c, p.h, p.w})); },
    batch_norm_inputs,
    [](const BatchNorm&, std::vector<Tensor>& t) {
      return ops::batch_norm2d(t[0], t[1], t[2], t[3], t[4], {true, 0.1f, 1e-5f, &mirrored_pair()});
    },
    {},
    Tolerances().twin(1e-5, 1e-4)});

// The same with the fused ReLU: the split kernels take the mask too.
[[maybe_unused]] const bool batch_norm2d_sync_relu_registered = register_op<BatchNorm>({
    "batch_norm2d_sync_relu",
    {{3, 5, 7, 3, true}, {2, 1, 1, 3, true}},
    {},
    [](const BatchNorm& p) { return concat("batch", p.n, "_", dims_name({p.c, p.h, p.w})); },
    batch_norm_relu_inputs,
    [](const BatchNorm&, std::vector<Tensor>& t) {
      return ops::batch_norm2d(t[0], t[1], t[2], t[3], t[4], {true, 0.1f, 1e-5f, &mirrored_pair(), true});
    },
    {},
    Tolerances().twin(1e-5, 1e-4)});

// ---- max_pool2d, avg_pool2d, global_avg_pool ----

struct Pool {
  int64_t n, c, h, w;
  int kernel, stride, padding;
  int64_t oh() const { return (h + 2 * padding - kernel) / stride + 1; }
  int64_t ow() const { return (w + 2 * padding - kernel) / stride + 1; }
};

std::string pool_name(const Pool& p) {
  return concat("k", p.kernel, "_s", p.stride, "_pad", p.padding, "_batch", p.n, "_", dims_name({p.c, p.h, p.w}));
}

// Max or average (padding counted, as PyTorch) over each window, in double.
Expected naive_pool(const Pool& p, const Tensor& x, bool is_max) {
  const std::vector<float> v = x.to_vector<float>();
  std::vector<double> y;
  for (int64_t plane = 0; plane < p.n * p.c; ++plane)
    for (int64_t r = 0; r < p.oh(); ++r)
      for (int64_t s = 0; s < p.ow(); ++s) {
        double acc = is_max ? -INFINITY : 0;
        for (int a = 0; a < p.kernel; ++a)
          for (int b = 0; b < p.kernel; ++b) {
            const int64_t yy = r * p.stride - p.padding + a, xx = s * p.stride - p.padding + b;
            if (yy < 0 || yy >= p.h || xx < 0 || xx >= p.w) continue;
            const double val = v[(plane * p.h + yy) * p.w + xx];
            acc = is_max ? std::max(acc, val) : acc + val;
          }
        y.push_back(is_max ? acc : acc / (p.kernel * p.kernel));
      }
  return {{p.n, p.c, p.oh(), p.ow()}, y};
}

const std::vector<Pool> kLargePools{{16, 64, 32, 32, 3, 2, 1}, {7, 3, 33, 17, 2, 2, 0}};

// Distinct inputs: no ties inside a window, so the argmax (and the gradient's route) is unique.
[[maybe_unused]] const bool max_pool2d_registered = register_op<Pool>({
    "max_pool2d",
    {{3, 2, 7, 5, 2, 2, 0}, {3, 2, 7, 5, 3, 2, 0}, {3, 2, 7, 5, 3, 2, 1}, {3, 2, 7, 5, 3, 1, 1}, {1, 3, 5, 5, 2, 1, 1}},
    kLargePools,
    pool_name,
    [](const Pool& p, std::mt19937& rng) { return OpInputs().add("x", distinct_tensor({p.n, p.c, p.h, p.w}, rng)); },
    [](const Pool& p, std::vector<Tensor>& t) { return ops::max_pool2d(t[0], p.kernel, p.stride, p.padding); },
    [](const Pool& p, const std::vector<Tensor>& t) { return naive_pool(p, t[0], true); },
    Tolerances().reference_tol(0)});

[[maybe_unused]] const bool avg_pool2d_registered = register_op<Pool>({
    "avg_pool2d",
    {{1, 3, 6, 5, 2, 2, 0}, {1, 3, 6, 5, 3, 2, 0}, {1, 3, 6, 5, 3, 2, 1}, {1, 3, 6, 5, 3, 1, 1}, {3, 2, 7, 5, 3, 2, 1}},
    kLargePools,
    pool_name,
    [](const Pool& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor({p.n, p.c, p.h, p.w}, rng)); },
    [](const Pool& p, std::vector<Tensor>& t) { return ops::avg_pool2d(t[0], p.kernel, p.stride, p.padding); },
    [](const Pool& p, const std::vector<Tensor>& t) { return naive_pool(p, t[0], false); }});

struct Image {
  int64_t n, c, h, w;
};

[[maybe_unused]] const bool global_avg_pool_registered = register_op<Image>({
    "global_avg_pool",
    {{3, 2, 3, 5}, {1, 3, 1, 1}, {5, 7, 4, 3}},
    {{128, 512, 4, 4}},
    [](const Image& p) { return concat("batch", p.n, "_", dims_name({p.c, p.h, p.w})); },
    [](const Image& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor({p.n, p.c, p.h, p.w}, rng)); },
    [](const Image&, std::vector<Tensor>& t) { return ops::global_avg_pool(t[0]); },
    [](const Image& p, const std::vector<Tensor>& t) {
      const std::vector<float> v = t[0].to_vector<float>();
      std::vector<double> y(static_cast<size_t>(p.n * p.c), 0.0);
      for (size_t i = 0; i < v.size(); ++i) y[i / (p.h * p.w)] += v[i] / static_cast<double>(p.h * p.w);
      return Expected{{p.n, p.c}, y};
    }});

// ---- concat_channels ----

struct Concat {
  int64_t n;
  std::vector<int64_t> channels;
  int64_t h, w;
};

Expected naive_concat(const Concat& p, const std::vector<Tensor>& t) {
  int64_t total = 0;
  for (int64_t c : p.channels) total += c;
  std::vector<double> y;
  for (int64_t i = 0; i < p.n; ++i)
    for (const Tensor& x : t) {
      const std::vector<double> v = as_double(x);
      const int64_t plane = x.size(1) * p.h * p.w;
      y.insert(y.end(), v.begin() + i * plane, v.begin() + (i + 1) * plane);
    }
  return {{p.n, total, p.h, p.w}, y};
}

[[maybe_unused]] const bool concat_channels_registered = register_op<Concat>({
    "concat_channels",
    {{3, {1, 3, 2}, 2, 3}, {1, {2}, 4, 4}, {2, {3, 5}, 1, 7}},
    {{32, {64, 32, 32}, 8, 8}},
    [](const Concat& p) { return concat("batch", p.n, "_c", dims_name(p.channels, "_"), "_", p.h, "x", p.w); },
    [](const Concat& p, std::mt19937& rng) {
      OpInputs in;
      for (size_t i = 0; i < p.channels.size(); ++i)
        in.add("x" + std::to_string(i), random_tensor({p.n, p.channels[i], p.h, p.w}, rng));
      return in;
    },
    [](const Concat&, std::vector<Tensor>& t) { return ops::concat_channels(t); },
    naive_concat,
    Tolerances().reference_tol(0)});

// ---- recompute_in_backward ----

// relu(concat(x0, x1, ...)) recorded as one recomputed node (engine/autograd.h): the forward keeps no
// intermediate, the backward runs concat and relu again and differentiates them; inputs clear of relu's kink.
[[maybe_unused]] const bool recompute_registered = register_op<Concat>({
    "recompute_in_backward",
    {{3, {1, 3, 2}, 2, 3}, {2, {3, 5}, 1, 7}},
    {{32, {64, 32, 32}, 8, 8}},
    [](const Concat& p) { return concat("relu_concat_batch", p.n, "_c", dims_name(p.channels, "_"), "_", p.h, "x", p.w); },
    [](const Concat& p, std::mt19937& rng) {
      OpInputs in;
      for (size_t i = 0; i < p.channels.size(); ++i)
        in.add("x" + std::to_string(i), distinct_tensor({p.n, p.channels[i], p.h, p.w}, rng));
      return in;
    },
    [](const Concat&, std::vector<Tensor>& t) {
      return recompute_in_backward([](const std::vector<Tensor>& xs) { return ops::relu(ops::concat_channels(xs)); }, t);
    },
    [](const Concat& p, const std::vector<Tensor>& t) {
      Expected e = naive_concat(p, t);
      for (double& v : e.values) v = std::max(v, 0.0);
      return e;
    },
    Tolerances().reference_tol(0)});

// ---- dropout ----

struct Dropout {
  Shape shape;
  float p;
  uint64_t seed;
};

// The mask statistics and its seeding are tested in tests/test_ops.cpp; p = 0 returns x itself and
// p = 1 drops everything.
[[maybe_unused]] const bool dropout_registered = register_op<Dropout>({
    "dropout",
    {{{2, 9}, 0.4f, 5}, {{3, 37}, 0.5f, 99}, {{1, 3, 5, 7}, 0.25f, 11}, {{4099}, 0.1f, 3}, {{2, 9}, 0.f, 1},
     {{10}, 1.f, 7}},
    {{{32, 4097}, 0.3f, 7}},
    [](const Dropout& p) { return concat("p", std::lround(p.p * 100), "_seed", p.seed, "_", dims_name(p.shape)); },
    [](const Dropout& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor(p.shape, rng)); },
    [](const Dropout& p, std::vector<Tensor>& t) { return ops::dropout(t[0], p.p, p.seed, true); }});

// ---- mixed_cross_entropy ----

struct MixedCe {
  int64_t n, k;
};

// Partner labels: equal to ya for every third sample (both halves of the mix one class), else random.
Tensor partner_labels(const Tensor& ya, int64_t k, std::mt19937& rng) {
  std::vector<int32_t> y = random_labels(ya.numel(), k, rng).to_vector<int32_t>(), a = ya.to_vector<int32_t>();
  for (size_t i = 1; i < y.size(); i += 3) y[i] = a[i];
  return Tensor::from_vector(y, ya.shape());
}

// Mixing weights: pure samples (0 and 1) at every other sample, random weights between them.
Tensor mixing_weights(int64_t n, std::mt19937& rng) {
  std::vector<float> lam = random_floats(n, rng, 0.f, 1.f);
  for (size_t i = 0; i < lam.size(); i += 2) lam[i] = (i / 2) % 2 ? 1.f : 0.f;
  return Tensor::from_vector(lam, {n});
}

// The fixed inputs of a mixed batch: labels ya, partner labels yb and mixing weights lam.
OpInputs& add_mixed_labels(OpInputs& in, int64_t n, int64_t k, std::mt19937& rng) {
  Tensor ya = random_labels(n, k, rng);
  Tensor yb = partner_labels(ya, k, rng);
  return in.fixed("ya", ya).fixed("yb", yb).fixed("lam", mixing_weights(n, rng));
}

Expected naive_mixed_ce(const MixedCe& p, const std::vector<Tensor>& t) {
  const std::vector<float> z = t[0].to_vector<float>(), lam = t[3].to_vector<float>();
  const std::vector<int32_t> ya = t[1].to_vector<int32_t>(), yb = t[2].to_vector<int32_t>();
  double loss = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    double norm = 0;
    for (int64_t j = 0; j < p.k; ++j) norm += std::exp(static_cast<double>(z[i * p.k + j]));
    const double ce_a = std::log(norm) - z[i * p.k + ya[i]], ce_b = std::log(norm) - z[i * p.k + yb[i]];
    loss += lam[i] * ce_a + (1 - lam[i]) * ce_b;
  }
  return {{1}, {loss / p.n}};
}

[[maybe_unused]] const bool mixed_cross_entropy_registered = register_op<MixedCe>({
    "mixed_cross_entropy",
    {{5, 4}, {1, 10}, {7, 3}, {2, 1}},
    {{128, 10}, {3, 1000}},
    [](const MixedCe& p) { return concat("batch", p.n, "_classes", p.k); },
    [](const MixedCe& p, std::mt19937& rng) {
      OpInputs in;
      in.add("logits", random_tensor({p.n, p.k}, rng, -2.f, 2.f));
      return add_mixed_labels(in, p.n, p.k, rng);
    },
    [](const MixedCe&, std::vector<Tensor>& t) { return ops::mixed_cross_entropy(t[0], t[1], t[2], t[3]); },
    naive_mixed_ce,
    Tolerances().reference_tol(1e-6)});

// ---- batch metrics (no backward: its cases skip finite differences) ----

// Logits on a grid of quarter steps, so ties (first index wins) are common.
Expected naive_batch_scores(const MixedCe& p, const std::vector<Tensor>& t) {
  const std::vector<float> z = t[1].to_vector<float>(), lam = t[4].to_vector<float>();
  const std::vector<int32_t> ya = t[2].to_vector<int32_t>(), yb = t[3].to_vector<int32_t>();
  double weighted = 0, x1x2 = 0, x2x1 = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    const float* row = z.data() + i * p.k;
    int64_t t1 = 0, t2 = -1;
    for (int64_t j = 1; j < p.k; ++j) t1 = row[j] > row[t1] ? j : t1;
    for (int64_t j = 0; j < p.k; ++j) t2 = j != t1 && (t2 < 0 || row[j] > row[t2]) ? j : t2;
    weighted += lam[i] * (t1 == ya[i]) + (1 - lam[i]) * (t1 == yb[i]);
    x1x2 += t1 == ya[i] && t2 == yb[i];
    x2x1 += t1 == yb[i] && t2 == ya[i];
  }
  return {{4}, {t[0].to_vector<float>()[0], weighted, x1x2, x2x1}};
}

[[maybe_unused]] const bool batch_scores_registered = register_op<MixedCe>({
    "batch_scores",
    {},
    {{1, 1}, {1, 2}, {7, 3}, {128, 10}, {1031, 100}},
    [](const MixedCe& p) { return concat("batch", p.n, "_classes", p.k); },
    [](const MixedCe& p, std::mt19937& rng) {
      OpInputs in;
      in.fixed("loss", random_tensor({1}, rng));
      Tensor z = random_tensor({p.n, p.k}, rng, -1.f, 1.f);
      for (float* v = z.data<float>(); v < z.data<float>() + z.numel(); ++v) *v = std::round(4 * *v) / 4;
      in.fixed("logits", z);
      return add_mixed_labels(in, p.n, p.k, rng);
    },
    [](const MixedCe&, std::vector<Tensor>& t) {
      Tensor row = Tensor::zeros({4}, DType::F32, t[1].device());
      ops::batch_scores(row, t[0], t[1], t[2], t[3], t[4]);
      return row;
    },
    naive_batch_scores,
    Tolerances().reference_tol(1e-6)});

// ---- step guard (no backward) ----

// Finite gradients only: the harness compares values, and the NaN and infinite cases are checked
// against the CPU twin in tests/test_cuda_kernels.cpp and tests/test_train_guards.cpp.
Expected naive_step_guard(const Elementwise&, const std::vector<Tensor>& t) {
  double sum = 0;
  for (float g : t[0].to_vector<float>()) sum += static_cast<double>(g) * g;
  return {{kernels::kGuardColumns}, {std::sqrt(sum), t[1].to_vector<float>()[0], 0.0}};
}

[[maybe_unused]] const bool step_guard_registered = register_op<Elementwise>({
    "step_guard",
    {},
    {{{1}}, {{7}}, {{4099}}, {{(1 << 20) + 5}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) {
      return OpInputs().fixed("grads", random_tensor(p.shape, rng)).fixed("loss", random_tensor({1}, rng));
    },
    [](const Elementwise&, std::vector<Tensor>& t) {
      Tensor record = Tensor::zeros({kernels::kGuardColumns}, DType::F32, t[0].device());
      ops::step_guard(record, t[0], t[1], true);
      return record;
    },
    naive_step_guard,
    Tolerances().reference_tol(1e-6)});

struct Restore {
  Shape shape;
  bool flagged;
};

Expected naive_restore_flagged(const Restore& p, const std::vector<Tensor>& t) {
  Expected e{p.shape, {}};
  for (float v : t[p.flagged ? 1 : 0].to_vector<float>()) e.values.push_back(v);
  return e;
}

[[maybe_unused]] const bool restore_flagged_registered = register_op<Restore>({
    "restore_flagged",
    {},  // no gradient: every case is compared on the devices and with the reference only
    {{{1}, true}, {{7}, false}, {{4099}, true}, {{4099}, false}, {{(1 << 20) + 5}, true}},
    [](const Restore& p) { return shape_name(Elementwise{p.shape}) + (p.flagged ? "_flagged" : "_clear"); },
    [](const Restore& p, std::mt19937& rng) {
      return OpInputs()
          .fixed("dst", random_tensor(p.shape, rng))
          .fixed("saved", random_tensor(p.shape, rng))
          .fixed("flag", Tensor::full({1}, p.flagged ? 1.f : 0.f));
    },
    [](const Restore&, std::vector<Tensor>& t) {
      Tensor dst = t[0].clone();
      ops::restore_flagged(dst, t[1], t[2]);
      return dst;
    },
    naive_restore_flagged,
    Tolerances().reference_tol(0)});

// ---- every op in one small network ----

struct Net {
  int64_t batch;  // of 4x9x9 images, 5 classes
};

OpInputs net_inputs(const Net& p, std::mt19937& rng) {
  const std::vector<std::pair<const char*, Shape>> leaves{
      {"x", {p.batch, 4, 9, 9}}, {"conv1.weight", {8, 4, 3, 3}}, {"conv1.bias", {8}}, {"bn.gamma", {8}},
      {"bn.beta", {8}},          {"conv2.weight", {8, 2, 3, 3}}, {"fc.weight", {5, 16}}, {"fc.bias", {5}}};
  OpInputs in;
  for (const auto& [name, shape] : leaves) in.add(name, random_tensor(shape, rng, -0.9f, 0.9f));
  in.fixed("bn.running_mean", random_tensor({8}, rng)).fixed("bn.running_var", random_tensor({8}, rng, 0.5f, 1.5f));
  return add_mixed_labels(in, p.batch, 5, rng);
}

Tensor net_loss(std::vector<Tensor>& t) {
  Tensor h = ops::conv2d(t[0], t[1], t[2], {1, 1, 1});
  h = ops::relu(ops::batch_norm2d(h, t[3], t[4], t[8], t[9], {}));
  Tensor p = ops::max_pool2d(h, 2, 2);                     // [N, 8, 4, 4]
  Tensor q = ops::conv2d(p, t[5], Tensor(), {1, 1, 4});    // grouped
  Tensor r = ops::add(ops::avg_pool2d(q, 3, 1, 1), p);
  Tensor d = ops::dropout(ops::concat_channels({r, q}), 0.25f, 99, true);  // [N, 16, 4, 4]
  Tensor logits = ops::linear(ops::global_avg_pool(d), t[6], t[7]);
  return ops::mixed_cross_entropy(logits, t[10], t[11], t[12]);
}

// Every op chained through autograd on one device, gradients flowing between ops there. No finite
// differences: ReLU and max-pool kinks inside the net would make them unreliable, and every op is
// checked alone above.
[[maybe_unused]] const bool small_net_registered = register_op<Net>({
    "small_net",
    {},
    {{3}, {1}},
    [](const Net& p) { return concat("every_op_batch", p.batch); },
    net_inputs,
    [](const Net&, std::vector<Tensor>& t) { return net_loss(t); },
    {},
    Tolerances().twin(1e-5, 1e-4)});


// ---- GAN ops: instance_norm2d, reflection_pad2d, conv_transpose2d (MixCycleGAN) ----

struct InstanceNorm {
  int64_t n, c, h, w;
  bool affine;
};

// Per plane: (x - mean) / sqrt(biased var + eps), two-pass in double, then gamma and beta per channel.
Expected naive_instance_norm(const InstanceNorm& p, const std::vector<Tensor>& t) {
  const std::vector<double> x = as_double(t[0]);
  const std::vector<double> g = p.affine ? as_double(t[1]) : std::vector<double>(p.c, 1.0);
  const std::vector<double> b = p.affine ? as_double(t[2]) : std::vector<double>(p.c, 0.0);
  const int64_t hw = p.h * p.w;
  std::vector<double> y(x.size());
  for (int64_t plane = 0; plane < p.n * p.c; ++plane) {
    const double* xp = x.data() + plane * hw;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < hw; ++j) mean += xp[j] / hw;
    for (int64_t j = 0; j < hw; ++j) var += (xp[j] - mean) * (xp[j] - mean) / hw;
    const int64_t ch = plane % p.c;
    for (int64_t j = 0; j < hw; ++j) y[plane * hw + j] = (xp[j] - mean) / std::sqrt(var + 1e-5) * g[ch] + b[ch];
  }
  return {{p.n, p.c, p.h, p.w}, y};
}

// Batch 1 and odd batches, odd and non-square planes (one row of 5, a 2x2 plane), affine on and off.
// The large ones: the generator's 256 channels at 64x64, 128x128 planes (the GPU's 1024-thread blocks),
// and many small planes. The GPU sums each plane in another order (kernels/instance_norm.cu), and dx
// cancels terms of the size of dy.
[[maybe_unused]] const bool instance_norm2d_registered = register_op<InstanceNorm>({
    "instance_norm2d",
    {{1, 3, 5, 7, true}, {2, 4, 3, 3, false}, {3, 2, 1, 5, true}, {1, 1, 4, 6, false}, {2, 5, 7, 4, true},
     {3, 3, 2, 2, false}},
    {{2, 256, 64, 64, true}, {1, 64, 128, 128, false}, {1, 3, 130, 129, true}, {33, 7, 3, 5, true}},
    [](const InstanceNorm& p) {
      return concat(p.affine ? "affine" : "plain", "_batch", p.n, "_", dims_name({p.c, p.h, p.w}));
    },
    [](const InstanceNorm& p, std::mt19937& rng) {
      OpInputs in;
      in.add("x", random_tensor({p.n, p.c, p.h, p.w}, rng, -1.f, 2.f));
      if (p.affine) in.add("gamma", random_tensor({p.c}, rng, 0.5f, 1.5f)).add("beta", random_tensor({p.c}, rng));
      return in;
    },
    [](const InstanceNorm& p, std::vector<Tensor>& t) {
      return p.affine ? ops::instance_norm2d(t[0], t[1], t[2]) : ops::instance_norm2d(t[0], Tensor(), Tensor());
    },
    naive_instance_norm,
    Tolerances().twin(1e-5, 1e-4)});

struct ReflectionPad {
  int64_t n, c, h, w;
  int pad;
};

Expected naive_reflection_pad(const ReflectionPad& p, const std::vector<Tensor>& t) {
  const std::vector<double> x = as_double(t[0]);
  const auto reflect = [&](int64_t i, int64_t size) {
    const int64_t r = i < p.pad ? p.pad - i : i - p.pad;  // mirror at 0, then at size - 1
    return r < size ? r : 2 * (size - 1) - r;
  };
  const int64_t oh = p.h + 2 * p.pad, ow = p.w + 2 * p.pad;
  std::vector<double> y;
  for (int64_t plane = 0; plane < p.n * p.c; ++plane)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) y.push_back(x[(plane * p.h + reflect(i, p.h)) * p.w + reflect(j, p.w)]);
  return {{p.n, p.c, oh, ow}, y};
}

// Pads 0, 1, 2 and 3, up to one less than a side (2x2 with pad 1: every input gets 4 outputs; 4x6 and
// 7x4 with pad 3: some inputs get 3 rows or columns of them), odd and non-square planes. Large: the
// generator's input (pad 3 on 3x256x256) and its residual blocks (pad 1 on 256 channels at 64x64).
[[maybe_unused]] const bool reflection_pad2d_registered = register_op<ReflectionPad>({
    "reflection_pad2d",
    {{1, 1, 2, 2, 1}, {2, 3, 5, 7, 1}, {1, 2, 4, 6, 3}, {3, 1, 7, 4, 3}, {1, 1, 3, 9, 2}, {2, 2, 5, 5, 0}},
    {{1, 3, 256, 256, 3}, {2, 256, 64, 64, 1}, {3, 5, 33, 17, 2}},
    [](const ReflectionPad& p) { return concat("pad", p.pad, "_batch", p.n, "_", dims_name({p.c, p.h, p.w})); },
    [](const ReflectionPad& p, std::mt19937& rng) {
      return OpInputs().add("x", random_tensor({p.n, p.c, p.h, p.w}, rng));
    },
    [](const ReflectionPad& p, std::vector<Tensor>& t) { return ops::reflection_pad2d(t[0], p.pad); },
    naive_reflection_pad,
    Tolerances().reference_tol(0).twin(0, 0)});

struct ConvTranspose {
  int64_t n, cin, h, w, cout, kh, kw;
  int stride, padding, output_padding, groups;
  bool bias;
  int64_t oh() const { return (h - 1) * stride - 2 * padding + kh + output_padding; }
  int64_t ow() const { return (w - 1) * stride - 2 * padding + kw + output_padding; }
};

std::string conv_transpose_name(const ConvTranspose& k) {
  return concat(k.kh, "x", k.kw, "_s", k.stride, "_pad", k.padding, "_outpad", k.output_padding,
                k.groups > 1 ? concat("_g", k.groups) : "", "_batch", k.n, "_", dims_name({k.cin, k.h, k.w}), "_to",
                k.cout, k.bias ? "_bias" : "");
}

// The scatter in double: input (i, ci, r, s) adds x * w[ci, co, a, e] to output (i, co, r * stride -
// padding + a, s * stride - padding + e) for the output channels co of ci's group, where that lies inside.
Expected naive_conv_transpose(const ConvTranspose& k, const std::vector<Tensor>& t) {
  const std::vector<double> x = as_double(t[0]), wt = as_double(t[1]);
  const std::vector<double> b = k.bias ? as_double(t[2]) : std::vector<double>(k.cout, 0.0);
  const int64_t cg = k.cin / k.groups, og = k.cout / k.groups, oh = k.oh(), ow = k.ow();
  std::vector<double> y(static_cast<size_t>(k.n * k.cout * oh * ow));
  for (int64_t i = 0; i < k.n; ++i)
    for (int64_t co = 0; co < k.cout; ++co)
      for (int64_t j = 0; j < oh * ow; ++j) y[(i * k.cout + co) * oh * ow + j] = b[co];
  for (int64_t i = 0; i < k.n; ++i)
    for (int64_t ci = 0; ci < k.cin; ++ci)
      for (int64_t r = 0; r < k.h; ++r)
        for (int64_t s = 0; s < k.w; ++s)
          for (int64_t co = 0; co < og; ++co)
            for (int64_t a = 0; a < k.kh; ++a)
              for (int64_t e = 0; e < k.kw; ++e) {
                const int64_t yy = r * k.stride - k.padding + a, xx = s * k.stride - k.padding + e;
                if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
                const int64_t out_ch = (ci / cg) * og + co;
                y[((i * k.cout + out_ch) * oh + yy) * ow + xx] +=
                    x[((i * k.cin + ci) * k.h + r) * k.w + s] * wt[((ci * og + co) * k.kh + a) * k.kw + e];
              }
  return {{k.n, k.cout, oh, ow}, y};
}

// The generator's upsampling (3x3, stride 2, padding 1, output_padding 1) and the 4x4 stride-2 one,
// output_padding 0, 1 and 2 (the last rows and columns no tap reaches, stride 3), batch 1 and odd
// batches, groups 2, non-square images and kernels, bias on and off, stride 1 ("same" shape through
// the CPU's block-copy path), 1x1 (its input gradient is the CPU's pointwise path), padding 2. Large:
// the generator's 2x256x32x32 -> 128 at 64x64 and the next 128 -> 64 at 128x128, a stride-1 3x3 with
// 128 channels (the CPU's Winograd backward as the forward) and a 4x4 stride 2 with several images per
// CPU chunk. FP32 cuDNN sums in its own order, as for conv2d.
[[maybe_unused]] const bool conv_transpose2d_registered = register_op<ConvTranspose>({
    "conv_transpose2d",
    {{1, 3, 4, 5, 2, 3, 3, 2, 1, 1, 1, true},
     {2, 4, 3, 3, 6, 4, 4, 2, 1, 0, 2, false},
     {3, 2, 5, 4, 3, 3, 3, 1, 1, 0, 1, true},
     {1, 2, 3, 4, 4, 2, 3, 2, 0, 1, 2, true},
     {2, 3, 4, 4, 3, 3, 3, 3, 2, 2, 1, false},
     {1, 4, 2, 3, 2, 1, 1, 1, 0, 0, 1, true},
     {2, 6, 3, 5, 4, 3, 3, 2, 1, 1, 2, true},
     {3, 3, 4, 3, 2, 4, 4, 2, 1, 1, 1, false},
     {1, 2, 5, 5, 3, 5, 5, 1, 2, 0, 1, true},
     {2, 2, 3, 3, 2, 3, 3, 2, 0, 0, 1, true}},
    {{2, 256, 32, 32, 128, 3, 3, 2, 1, 1, 1, true},
     {1, 128, 64, 64, 64, 3, 3, 2, 1, 1, 1, true},
     {2, 128, 16, 16, 128, 3, 3, 1, 1, 0, 1, false},
     {6, 64, 8, 8, 32, 4, 4, 2, 1, 0, 1, true},
     {5, 32, 7, 9, 48, 3, 3, 2, 1, 1, 2, true}},
    conv_transpose_name,
    [](const ConvTranspose& k, std::mt19937& rng) {
      OpInputs in;
      in.add("x", random_tensor({k.n, k.cin, k.h, k.w}, rng));
      in.add("weight", random_tensor({k.cin, k.cout / k.groups, k.kh, k.kw}, rng));
      if (k.bias) in.add("bias", random_tensor({k.cout}, rng));
      return in;
    },
    [](const ConvTranspose& k, std::vector<Tensor>& t) {
      return ops::conv_transpose2d(t[0], t[1], k.bias ? t[2] : Tensor(),
                                   {k.stride, k.padding, k.output_padding, k.groups});
    },
    naive_conv_transpose,
    Tolerances().twin(1e-4, 1e-4)});

// ---- GAN ops: tanh, sigmoid, leaky_relu, scale, blend and the pointwise losses ----

// tanhf / expf against tanh / exp in double: a few float ulps, on the CPU and the GPU alike.
[[maybe_unused]] const bool tanh_registered = register_op<Elementwise>({
    "tanh",
    {{{3, 5, 7}}, {{1}}, {{2, 3, 5, 7}}},
    {{{5, 100003}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor(p.shape, rng, -3.f, 3.f)); },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::tanh(t[0]); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      std::vector<double> y = as_double(t[0]);
      for (double& v : y) v = std::tanh(v);
      return Expected{p.shape, y};
    },
    Tolerances().reference_tol(1e-6).twin(1e-6, 1e-6)});

[[maybe_unused]] const bool sigmoid_registered = register_op<Elementwise>({
    "sigmoid",
    {{{3, 5, 7}}, {{1}}, {{2, 3, 5, 7}}},
    {{{5, 100003}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor(p.shape, rng, -6.f, 6.f)); },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::sigmoid(t[0]); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      std::vector<double> y = as_double(t[0]);
      for (double& v : y) v = 1 / (1 + std::exp(-v));
      return Expected{p.shape, y};
    },
    Tolerances().reference_tol(1e-6).twin(1e-6, 1e-6)});

// Inputs clear of the kink at 0, as for relu.
[[maybe_unused]] const bool leaky_relu_registered = register_op<Elementwise>({
    "leaky_relu",
    {{{3, 5, 7}}, {{1}}, {{2, 3, 5, 7}}},
    {{{5, 100003}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) { return OpInputs().add("x", distinct_tensor(p.shape, rng)); },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::leaky_relu(t[0], 0.2f); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      std::vector<double> y = as_double(t[0]);
      for (double& v : y) v = v > 0 ? v : static_cast<double>(0.2f) * v;
      return Expected{p.shape, y};
    },
    Tolerances().reference_tol(1e-7)});

[[maybe_unused]] const bool scale_registered = register_op<Elementwise>({
    "scale",
    {{{3, 5, 7}}, {{1}}, {{2, 9}}},
    {{{5, 100003}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) { return OpInputs().add("x", random_tensor(p.shape, rng)); },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::scale(t[0], -1.75f); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      std::vector<double> y = as_double(t[0]);
      for (double& v : y) v *= -1.75;
      return Expected{p.shape, y};
    },
    Tolerances().reference_tol(0)});

// lam in [0, 1] per sample (a fixed input: blend gives it no gradient).
[[maybe_unused]] const bool blend_registered = register_op<Elementwise>({
    "blend",
    {{{3, 2, 3, 5}}, {{1, 1, 1, 1}}, {{5, 7}}, {{2, 3, 1, 3}}},
    {{{7, 3, 64, 65}}},
    shape_name,
    [](const Elementwise& p, std::mt19937& rng) {
      return OpInputs()
          .add("a", random_tensor(p.shape, rng))
          .add("b", random_tensor(p.shape, rng))
          .fixed("lam", random_tensor({p.shape[0]}, rng, 0.f, 1.f));
    },
    [](const Elementwise&, std::vector<Tensor>& t) { return ops::blend(t[0], t[1], t[2]); },
    [](const Elementwise& p, const std::vector<Tensor>& t) {
      const std::vector<double> a = as_double(t[0]), b = as_double(t[1]), lam = as_double(t[2]);
      std::vector<double> y(a.size());
      const size_t per = a.size() / lam.size();
      for (size_t i = 0; i < y.size(); ++i) y[i] = lam[i / per] * a[i] + (1 - lam[i / per]) * b[i];
      return Expected{p.shape, y};
    }});

// The losses: x against a target of its shape (l1, mse: gradients to both), or against one target per sample
// (mse_to_target, bce_with_logits_to_target: pred [N, 1, h, w] patch maps, targets in [0, 1], fixed).
struct PointLossCase {
  Shape shape;
  const char* kind;  // "l1", "mse", "mse_to_target", "bce"
  bool per_sample() const { return kind[0] == 'b' || std::string(kind) == "mse_to_target"; }
};
std::string point_loss_name(const PointLossCase& p) { return dims_name(p.shape); }

double naive_point_loss(const char* kind, double x, double t) {
  const std::string k = kind;
  if (k == "l1") return std::fabs(x - t);
  if (k == "bce") return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
  return (x - t) * (x - t);
}

OpInputs point_loss_inputs(const PointLossCase& p, std::mt19937& rng) {
  if (p.per_sample())
    return OpInputs()
        .add("pred", random_tensor(p.shape, rng, -3.f, 3.f))
        .fixed("target", random_tensor({p.shape[0]}, rng, 0.f, 1.f));
  // l1: x = t + d with |d| >= 0.025 > the finite-difference step, so no perturbation crosses the kink.
  Tensor t = random_tensor(p.shape, rng), x = distinct_tensor(p.shape, rng);
  float* xs = x.data<float>();
  const float* ts = t.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) xs[i] += ts[i];
  return OpInputs().add("x", x).add("target", t);
}

Tensor point_loss_forward(const PointLossCase& p, std::vector<Tensor>& t) {
  const std::string k = p.kind;
  if (k == "l1") return ops::l1_loss(t[0], t[1]);
  if (k == "mse") return ops::mse_loss(t[0], t[1]);
  if (k == "bce") return ops::bce_with_logits_to_target(t[0], t[1]);
  return ops::mse_to_target(t[0], t[1]);
}

Expected naive_point_loss_mean(const PointLossCase& p, const std::vector<Tensor>& t) {
  const std::vector<double> x = as_double(t[0]), target = as_double(t[1]);
  const size_t per = x.size() / target.size();
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += naive_point_loss(p.kind, x[i], target[i / per]);
  return {{1}, {sum / static_cast<double>(x.size())}};
}

// The sums of the two backends run in double in different orders: equal to float rounding.
[[maybe_unused]] const bool point_losses_registered = [] {
  const std::pair<const char*, const char*> ops[] = {
      {"l1_loss", "l1"}, {"mse_loss", "mse"}, {"mse_to_target", "mse_to_target"}, {"bce_with_logits_to_target", "bce"}};
  for (const auto& [op, kind] : ops)
    register_op<PointLossCase>({op,
                                {{{2, 1, 3, 3}, kind}, {{1, 1, 2, 2}, kind}, {{3, 3, 5, 7}, kind}, {{5, 7}, kind}},
                                {{{4, 3, 64, 64}, kind}, {{2, 1, 30, 30}, kind}},
                                point_loss_name,
                                point_loss_inputs,
                                point_loss_forward,
                                naive_point_loss_mean,
                                Tolerances().reference_tol(1e-6).twin(1e-6, 1e-6)});
  return true;
}();

}  // namespace

}  // namespace mx::test
