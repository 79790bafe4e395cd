// CPU twin of the batch-norm kernels: sums in double with the formulas of kernels/batchnorm_formulas.h,
// one block of channels per OpenMP iteration. A channel's sums run in an order fixed by the shape
// alone, never by the thread count or the block:
// - a long plane (hw >= kLongPlane) is summed plane by plane, in registers;
// - short planes (the 7x7 and 3x3 maps of a network's last stages) would spend more on each plane's
//   horizontal reduction than on its values, so every image's values are added into one double per
//   position, and each channel's positions are summed once at the end.
// The passes that write y or dx go over a block's planes image by image, in memory order. The fused
// ReLU is a template parameter, so that the loops with and without it both vectorize.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/batchnorm_formulas.h"
#include "kernels/relu_formulas.h"

namespace mx::kernels {

namespace {

constexpr int64_t kLongPlane = 128;     // values of a plane from which it is summed on its own
constexpr int64_t kBlockValues = 4096;  // most values of one image that a block of short-plane channels spans
constexpr int64_t kMinBlocks = 8;       // blocks to share among the threads where there are channels enough

// An NCHW tensor's sizes. block(): the channels of one block, one for long planes, else as many as span
// up to kBlockValues values of an image while leaving kMinBlocks blocks or more.
struct Layout {
  int64_t n, c, hw;
  int64_t offset(int64_t i, int64_t ch) const { return (i * c + ch) * hw; }
  int64_t block() const {
    if (hw >= kLongPlane || hw == 0) return 1;
    return std::max<int64_t>(1, std::min(kBlockValues / hw, (c + kMinBlocks - 1) / kMinBlocks));
  }
};

// fn(c0, c1) for every block [c0, c1) of channels, in parallel when there are values enough to share.
template <typename Fn>
void for_each_block(const Layout& s, const Fn& fn) {
  const int64_t block = s.block(), blocks = (s.c + block - 1) / block;
#pragma omp parallel for schedule(static) if (s.n * s.c * s.hw > 65536)
  for (int64_t b = 0; b < blocks; ++b) fn(b * block, std::min(s.c, (b + 1) * block));
}

// term(offset, ch) is the function of j that gives what value j of the plane at `offset` (of channel
// ch) adds to the channel's sums.

// Long planes: each channel's planes one after another, each summed in registers.
template <typename Term>
bn::Sums plane_by_plane_sums(const Term& term, const Layout& s, int64_t ch) {
  double a = 0, b = 0;
  for (int64_t i = 0; i < s.n; ++i) {
    const auto value = term(s.offset(i, ch), ch);
#pragma omp simd reduction(+ : a, b)
    for (int64_t j = 0; j < s.hw; ++j) {
      const bn::Sums t = value(j);
      a += t.a;
      b += t.b;
    }
  }
  return {a, b};
}

// Short planes: every image's values of channels [c0, c1) added into one double per position, then
// each channel's positions summed, into out[0, c1 - c0).
template <typename Term>
void position_sums(bn::Sums* out, const Term& term, const Layout& s, int64_t c0, int64_t c1) {
  std::vector<double> a(static_cast<size_t>((c1 - c0) * s.hw)), b(a.size());
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      const auto value = term(s.offset(i, ch), ch);
      double* pa = a.data() + (ch - c0) * s.hw;
      double* pb = b.data() + (ch - c0) * s.hw;
#pragma omp simd
      for (int64_t j = 0; j < s.hw; ++j) {
        const bn::Sums t = value(j);
        pa[j] += t.a;
        pb[j] += t.b;
      }
    }
  }
  for (int64_t ch = c0; ch < c1; ++ch) {
    const auto first = (ch - c0) * s.hw, last = first + s.hw;
    out[ch - c0] = {std::accumulate(a.begin() + first, a.begin() + last, 0.0),
                    std::accumulate(b.begin() + first, b.begin() + last, 0.0)};
  }
}

// The sums of channels [c0, c1) into out[0, c1 - c0).
template <typename Term>
void block_sums(bn::Sums* out, const Term& term, const Layout& s, int64_t c0, int64_t c1) {
  if (s.hw < kLongPlane) return position_sums(out, term, s, c0, c1);
  for (int64_t ch = c0; ch < c1; ++ch) out[ch - c0] = plane_by_plane_sums(term, s, ch);
}

// The sums of channels [c0, c1): read from a [2c] buffer when it is given, else summed from term.
template <typename Term>
std::vector<bn::Sums> sums_of_block(const double* sums, const Term& term, const Layout& s, int64_t c0, int64_t c1) {
  std::vector<bn::Sums> block(static_cast<size_t>(c1 - c0));
  if (!sums) {
    block_sums(block.data(), term, s, c0, c1);
  } else {
    for (int64_t ch = c0; ch < c1; ++ch) block[ch - c0] = bn::load_sums(sums, s.c, ch);
  }
  return block;
}

// The sums of term over every channel into a [2c] buffer.
template <typename Term>
void sums_into_buffer(double* sums, const Term& term, const Layout& s) {
  for_each_block(s, [&](int64_t c0, int64_t c1) {
    const std::vector<bn::Sums> block = sums_of_block(nullptr, term, s, c0, c1);
    for (int64_t ch = c0; ch < c1; ++ch) bn::store_sums(sums, s.c, ch, block[ch - c0]);
  });
}

// op(offset, ch) is the function of j that writes value j of the plane at `offset` (of channel ch);
// called for every plane of channels [c0, c1), image by image.
template <typename Op>
void block_apply(const Op& op, const Layout& s, int64_t c0, int64_t c1) {
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      const auto write = op(s.offset(i, ch), ch);
#pragma omp simd
      for (int64_t j = 0; j < s.hw; ++j) write(j);
    }
  }
}

// Calls fn(std::integral_constant<bool, relu>()), so that fn's loops know at compile time.
template <typename Fn>
void with_relu(bool relu, const Fn& fn) {
  if (relu) fn(std::true_type());
  else fn(std::false_type());
}

auto moments(const float* x) {
  return [x](int64_t offset, int64_t) { return [p = x + offset](int64_t j) { return bn::moments(p[j]); }; };
}

// The gradient reaching batch norm at value j of a plane: dy, or dy through the fused ReLU whose
// output is y.
template <bool Relu>
struct Upstream {
  const float *dy, *y;
  Upstream at(int64_t offset) const { return {dy + offset, Relu ? y + offset : nullptr}; }
  float operator()(int64_t j) const { return Relu ? relu_gradient(dy[j], y[j]) : dy[j]; }
};

template <bool Relu>
auto gradient_moments(Upstream<Relu> up, const float* x, const float* save_mean) {
  return [=](int64_t offset, int64_t ch) {
    return [g = up.at(offset), p = x + offset, mean = save_mean[ch]](int64_t j) {
      return bn::gradient_moments(g(j), p[j], mean);
    };
  };
}

// y = f(x), or relu(f(x)), with f the channel's affine map from gamma, beta, mean and invstd.
template <bool Relu>
auto normalize(float* y, const float* x, const float* gamma, const float* beta, const float* mean,
               const float* invstd) {
  return [=](int64_t offset, int64_t ch) {
    return [out = y + offset, in = x + offset, f = bn::affine(gamma[ch], beta[ch], mean[ch], invstd[ch])](int64_t j) {
      const float v = f(in[j]);
      out[j] = Relu ? relu_value(v) : v;
    };
  };
}

struct TrainArgs {
  float *save_mean, *save_invstd, *running_mean, *running_var;
  float momentum, eps;
};

// The training statistics of channels [c0, c1) from their sums[0, c1 - c0) over `count` values.
void train_statistics(const TrainArgs& t, const bn::Sums* sums, double count, int64_t c0, int64_t c1) {
  for (int64_t ch = c0; ch < c1; ++ch) {
    const bn::TrainStatistics s =
        bn::train_statistics(sums[ch - c0], count, t.running_mean[ch], t.running_var[ch], t.momentum, t.eps);
    t.save_mean[ch] = s.mean;
    t.save_invstd[ch] = s.invstd;
    t.running_mean[ch] = s.running_mean;
    t.running_var[ch] = s.running_var;
  }
}

// The training forward from the channels' sums (given, or summed here when `sums` is null).
void train_forward(float* y, const TrainArgs& t, const float* x, const float* gamma, const float* beta,
                   const double* sums, double count, const Layout& s, bool relu) {
  with_relu(relu, [&](auto r) {
    const auto write = normalize<decltype(r)::value>(y, x, gamma, beta, t.save_mean, t.save_invstd);
    for_each_block(s, [&](int64_t c0, int64_t c1) {
      const std::vector<bn::Sums> block = sums_of_block(sums, moments(x), s, c0, c1);
      train_statistics(t, block.data(), count, c0, c1);
      block_apply(write, s, c0, c1);
    });
  });
}

void param_grads(float* dgamma, float* dbeta, bn::Sums sums, const float* save_invstd, int64_t ch) {
  dgamma[ch] = bn::dgamma(sums, save_invstd[ch]);
  dbeta[ch] = bn::dbeta(sums);
}

struct BackwardArgs {
  float *dx, *dgamma, *dbeta;  // dx may be null; dgamma and dbeta null for dx alone (from given sums)
  const float *dy, *x, *gamma, *save_mean, *save_invstd, *relu_out;
};

// The backward from the channels' sums (given, or summed here when `sums` is null) over `count` values.
void backward(const BackwardArgs& g, const double* sums, double count, bool training, const Layout& s) {
  with_relu(g.relu_out != nullptr, [&](auto r) {
    const Upstream<decltype(r)::value> up{g.dy, g.relu_out};
    for_each_block(s, [&](int64_t c0, int64_t c1) {
      const std::vector<bn::Sums> block = sums_of_block(sums, gradient_moments(up, g.x, g.save_mean), s, c0, c1);
      if (g.dgamma) {
        for (int64_t ch = c0; ch < c1; ++ch) param_grads(g.dgamma, g.dbeta, block[ch - c0], g.save_invstd, ch);
      }
      if (!g.dx) return;
      std::vector<bn::InputGradient> f(block.size());
      for (int64_t ch = c0; ch < c1; ++ch) {
        f[ch - c0] =
            bn::input_gradient(block[ch - c0], count, g.gamma[ch], g.save_mean[ch], g.save_invstd[ch], training);
      }
      block_apply(
          [&](int64_t offset, int64_t ch) {
            return [dx = g.dx + offset, in = up.at(offset), x = g.x + offset, fc = f[ch - c0]](int64_t j) {
              dx[j] = fc(in(j), x[j]);
            };
          },
          s, c0, c1);
    });
  });
}

}  // namespace

template <>
void batch_norm_train_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                           float* running_var, const float* x, const float* gamma, const float* beta,
                                           int64_t n, int64_t c, int64_t hw, float momentum, float eps, bool relu) {
  train_forward(y, {save_mean, save_invstd, running_mean, running_var, momentum, eps}, x, gamma, beta, nullptr,
                static_cast<double>(n * hw), {n, c, hw}, relu);
}

template <>
void batch_norm_forward_sums<Device::CPU>(double* sums, const float* x, int64_t n, int64_t c, int64_t hw) {
  sums_into_buffer(sums, moments(x), {n, c, hw});
}

template <>
void batch_norm_train_forward_from_sums<Device::CPU>(float* y, float* save_mean, float* save_invstd,
                                                     float* running_mean, float* running_var, const float* x,
                                                     const float* gamma, const float* beta, const double* sums,
                                                     double count, int64_t n, int64_t c, int64_t hw, float momentum,
                                                     float eps, bool relu) {
  train_forward(y, {save_mean, save_invstd, running_mean, running_var, momentum, eps}, x, gamma, beta, sums, count,
                {n, c, hw}, relu);
}

template <>
void batch_norm_eval_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, const float* x,
                                          const float* gamma, const float* beta, const float* running_mean,
                                          const float* running_var, int64_t n, int64_t c, int64_t hw, float eps,
                                          bool relu) {
  for (int64_t ch = 0; ch < c; ++ch) {
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = bn::eval_invstd(running_var[ch], eps);
  }
  const Layout s{n, c, hw};
  with_relu(relu, [&](auto r) {
    const auto write = normalize<decltype(r)::value>(y, x, gamma, beta, save_mean, save_invstd);
    for_each_block(s, [&](int64_t c0, int64_t c1) { block_apply(write, s, c0, c1); });
  });
}

template <>
void batch_norm_backward<Device::CPU>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                      int64_t c, int64_t hw, bool training, const float* relu_out) {
  backward({dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd, relu_out}, nullptr, static_cast<double>(n * hw),
           training, {n, c, hw});
}

template <>
void batch_norm_backward_sums<Device::CPU>(double* sums, const float* dy, const float* x, const float* save_mean,
                                           int64_t n, int64_t c, int64_t hw, const float* relu_out) {
  with_relu(relu_out != nullptr, [&](auto r) {
    sums_into_buffer(sums, gradient_moments(Upstream<decltype(r)::value>{dy, relu_out}, x, save_mean), {n, c, hw});
  });
}

template <>
void batch_norm_param_grads<Device::CPU>(float* dgamma, float* dbeta, const double* sums, const float* save_invstd,
                                         int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) param_grads(dgamma, dbeta, bn::load_sums(sums, c, ch), save_invstd, ch);
}

template <>
void batch_norm_backward_dx_from_sums<Device::CPU>(float* dx, const float* dy, const float* x, const float* gamma,
                                                   const float* save_mean, const float* save_invstd,
                                                   const double* sums, double count, int64_t n, int64_t c, int64_t hw,
                                                   const float* relu_out) {
  backward({dx, nullptr, nullptr, dy, x, gamma, save_mean, save_invstd, relu_out}, sums, count, true, {n, c, hw});
}

}  // namespace mx::kernels
