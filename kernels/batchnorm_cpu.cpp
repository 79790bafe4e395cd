// CPU twin of the batch-norm kernels: one channel per OpenMP iteration, sums in double, the formulas
// of kernels/batchnorm_formulas.h. The fused kernels and their pieces share the per-channel steps.
#include "kernels/batchnorm.h"

#include "kernels/batchnorm_formulas.h"

namespace mx::kernels {

namespace {

// fn(ch) for every channel, in parallel when the tensor has `values` values enough to share.
template <typename Fn>
void for_each_channel(int64_t c, int64_t values, const Fn& fn) {
#pragma omp parallel for schedule(static) if (values > 65536)
  for (int64_t ch = 0; ch < c; ++ch) fn(ch);
}

// The sums of term(k) over the offsets k of channel ch's values in an NCHW tensor.
template <typename Term>
bn::Sums channel_sums(int64_t n, int64_t c, int64_t hw, int64_t ch, const Term& term) {
  double a = 0, b = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t base = (i * c + ch) * hw;
#pragma omp simd reduction(+ : a, b)
    for (int64_t j = 0; j < hw; ++j) {
      const bn::Sums t = term(base + j);
      a += t.a;
      b += t.b;
    }
  }
  return {a, b};
}

// op(k) for the offset k of every value of channel ch.
template <typename Op>
void channel_apply(int64_t n, int64_t c, int64_t hw, int64_t ch, const Op& op) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t base = (i * c + ch) * hw;
#pragma omp simd
    for (int64_t j = 0; j < hw; ++j) op(base + j);
  }
}

bn::Sums forward_sums(const float* x, int64_t n, int64_t c, int64_t hw, int64_t ch) {
  return channel_sums(n, c, hw, ch, [x](int64_t k) { return bn::moments(x[k]); });
}

bn::Sums backward_sums(const float* dy, const float* x, const float* save_mean, int64_t n, int64_t c, int64_t hw,
                       int64_t ch) {
  const float mean = save_mean[ch];
  return channel_sums(n, c, hw, ch, [=](int64_t k) { return bn::gradient_moments(dy[k], x[k], mean); });
}

void normalize(float* y, const float* x, bn::Affine f, int64_t n, int64_t c, int64_t hw, int64_t ch) {
  channel_apply(n, c, hw, ch, [=](int64_t k) { y[k] = f(x[k]); });
}

// The training forward of one channel from its sums.
struct TrainForward {
  float *y, *save_mean, *save_invstd, *running_mean, *running_var;
  const float *x, *gamma, *beta;
  int64_t n, c, hw;
  float momentum, eps;
  void operator()(int64_t ch, bn::Sums sums, double count) const {
    const bn::TrainStatistics s =
        bn::train_statistics(sums, count, running_mean[ch], running_var[ch], momentum, eps);
    save_mean[ch] = s.mean;
    save_invstd[ch] = s.invstd;
    running_mean[ch] = s.running_mean;
    running_var[ch] = s.running_var;
    normalize(y, x, bn::affine(gamma[ch], beta[ch], s.mean, s.invstd), n, c, hw, ch);
  }
};

void param_grads(float* dgamma, float* dbeta, bn::Sums sums, const float* save_invstd, int64_t ch) {
  dgamma[ch] = bn::dgamma(sums, save_invstd[ch]);
  dbeta[ch] = bn::dbeta(sums);
}

// dx of one channel from its backward sums.
struct InputBackward {
  float* dx;
  const float *dy, *x, *gamma, *save_mean, *save_invstd;
  int64_t n, c, hw;
  void operator()(int64_t ch, bn::Sums sums, double count, bool training) const {
    const bn::InputGradient f = bn::input_gradient(sums, count, gamma[ch], save_mean[ch], save_invstd[ch], training);
    channel_apply(n, c, hw, ch, [f, dx = dx, dy = dy, x = x](int64_t k) { dx[k] = f(dy[k], x[k]); });
  }
};

}  // namespace

template <>
void batch_norm_train_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                           float* running_var, const float* x, const float* gamma, const float* beta,
                                           int64_t n, int64_t c, int64_t hw, float momentum, float eps) {
  const TrainForward forward{y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta,
                             n, c,         hw,          momentum,     eps};
  const double count = static_cast<double>(n * hw);
  for_each_channel(c, n * c * hw, [&](int64_t ch) { forward(ch, forward_sums(x, n, c, hw, ch), count); });
}

template <>
void batch_norm_forward_sums<Device::CPU>(double* sums, const float* x, int64_t n, int64_t c, int64_t hw) {
  for_each_channel(c, n * c * hw, [&](int64_t ch) { bn::store_sums(sums, c, ch, forward_sums(x, n, c, hw, ch)); });
}

template <>
void batch_norm_train_forward_from_sums<Device::CPU>(float* y, float* save_mean, float* save_invstd,
                                                     float* running_mean, float* running_var, const float* x,
                                                     const float* gamma, const float* beta, const double* sums,
                                                     double count, int64_t n, int64_t c, int64_t hw, float momentum,
                                                     float eps) {
  const TrainForward forward{y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta,
                             n, c,         hw,          momentum,     eps};
  for_each_channel(c, n * c * hw, [&](int64_t ch) { forward(ch, bn::load_sums(sums, c, ch), count); });
}

template <>
void batch_norm_eval_forward<Device::CPU>(float* y, float* save_mean, float* save_invstd, const float* x,
                                          const float* gamma, const float* beta, const float* running_mean,
                                          const float* running_var, int64_t n, int64_t c, int64_t hw, float eps) {
  for_each_channel(c, n * c * hw, [&](int64_t ch) {
    const float invstd = bn::eval_invstd(running_var[ch], eps);
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = invstd;
    normalize(y, x, bn::affine(gamma[ch], beta[ch], running_mean[ch], invstd), n, c, hw, ch);
  });
}

template <>
void batch_norm_backward<Device::CPU>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                      int64_t c, int64_t hw, bool training) {
  const InputBackward input{dx, dy, x, gamma, save_mean, save_invstd, n, c, hw};
  const double count = static_cast<double>(n * hw);
  for_each_channel(c, n * c * hw, [&](int64_t ch) {
    const bn::Sums sums = backward_sums(dy, x, save_mean, n, c, hw, ch);
    param_grads(dgamma, dbeta, sums, save_invstd, ch);
    if (dx) input(ch, sums, count, training);
  });
}

template <>
void batch_norm_backward_sums<Device::CPU>(double* sums, const float* dy, const float* x, const float* save_mean,
                                           int64_t n, int64_t c, int64_t hw) {
  for_each_channel(c, n * c * hw, [&](int64_t ch) {
    bn::store_sums(sums, c, ch, backward_sums(dy, x, save_mean, n, c, hw, ch));
  });
}

template <>
void batch_norm_param_grads<Device::CPU>(float* dgamma, float* dbeta, const double* sums, const float* save_invstd,
                                         int64_t c) {
  for_each_channel(c, c, [&](int64_t ch) { param_grads(dgamma, dbeta, bn::load_sums(sums, c, ch), save_invstd, ch); });
}

template <>
void batch_norm_backward_dx_from_sums<Device::CPU>(float* dx, const float* dy, const float* x, const float* gamma,
                                                   const float* save_mean, const float* save_invstd,
                                                   const double* sums, double count, int64_t n, int64_t c,
                                                   int64_t hw) {
  const InputBackward input{dx, dy, x, gamma, save_mean, save_invstd, n, c, hw};
  for_each_channel(c, n * c * hw, [&](int64_t ch) { input(ch, bn::load_sums(sums, c, ch), count, true); });
}

}  // namespace mx::kernels
