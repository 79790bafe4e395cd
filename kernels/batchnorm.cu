// CUDA batch norm. A channel's n*hw values are cut into slices, one block each, so that a layer with
// few channels still fills the GPU, and every sum runs in a fixed order, so a run repeats bit for bit:
// stage 1 sums each slice (in double, as the CPU twin) into a scratch buffer; stage 2, one thread per
// channel, adds its slices' sums in slice order and derives the channel's statistics and coefficients
// with the formulas both twins share (batchnorm_formulas.h); a last pass applies them over the same
// slices. How many slices a channel gets depends on the shape alone, never on the device. The pieces
// of the split forward and backward run the same stages: the sums pieces end stage 2 by storing the
// channels' totals in the [2c] buffer, the others begin it by reading them from there. The fused ReLU
// is applied as y is written, and its mask wherever the backward reads dy (upstream_gradient).
#include <algorithm>

#include "engine/cuda/workspace.h"
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_formulas.h"
#include "kernels/launch.cuh"
#include "kernels/relu_formulas.h"

namespace mx::kernels {

namespace {

constexpr int64_t kTargetBlocks = 264;  // two blocks per multiprocessor of a 132-SM H100/H200
constexpr int64_t kMinSlice = 4096;     // a block that splits a channel sums at least this many values

// The cut of each channel's n*hw values into `blocks` slices of `slice` values (the last may be
// shorter): slice b is values [b * slice, min((b + 1) * slice, n * hw)) in image-major order.
struct Slicing {
  int64_t n, c, hw, slice, blocks;
  __device__ int64_t begin(int64_t b) const { return b * slice; }
  __device__ int64_t end(int64_t b) const { return min((b + 1) * slice, n * hw); }
  dim3 grid() const { return dim3(static_cast<unsigned>(c), static_cast<unsigned>(blocks)); }
};

// As many slices per channel as make about kTargetBlocks blocks in all, but a channel of fewer than
// 2 * kMinSlice values stays whole, and every slice but the last holds at least kMinSlice values.
Slicing slicing(int64_t n, int64_t c, int64_t hw) {
  const int64_t values = n * hw, wanted = (kTargetBlocks + c - 1) / c;
  const int64_t blocks = std::clamp<int64_t>(values / kMinSlice, 1, wanted);
  const int64_t slice = (values + blocks - 1) / blocks;
  return {n, c, hw, slice, (values + slice - 1) / slice};
}

// Walks the values of one channel of an NCHW tensor, from value `start` in steps of `step` values,
// without a division per step. at is the current value's number, index(ch) its offset in the tensor.
struct ChannelWalk {
  int64_t at, i, j;  // value number, image and position in the plane
  int64_t step, di, dj, hw, c;
  __device__ ChannelWalk(int64_t start, int64_t step_, int64_t hw_, int64_t c_)
      : at(start), i(start / hw_), j(start % hw_), step(step_), di(step_ / hw_), dj(step_ % hw_), hw(hw_), c(c_) {}
  __device__ void next() {
    at += step;
    i += di;
    j += dj;
    if (j >= hw) {
      j -= hw;
      ++i;
    }
  }
  __device__ int64_t index(int64_t ch) const { return (i * c + ch) * hw + j; }
};

// The walk of this thread over the slice of block (ch, b), b = blockIdx.y.
__device__ ChannelWalk walk_of_thread(const Slicing& s) {
  return ChannelWalk(s.begin(blockIdx.y) + threadIdx.x, blockDim.x, s.hw, s.c);
}

using bn::Sums;

// Stage 1: block (ch, b) sums terms.at(ch)(k) over slice b of channel ch into partials[ch * blocks + b].
template <typename Terms>
__global__ void slice_sums_kernel(Sums* partials, Terms terms, Slicing s) {
  const int64_t ch = blockIdx.x;
  const auto term = terms.at(ch);
  const int64_t end = s.end(blockIdx.y);
  Sums sum{0, 0};
  for (ChannelWalk p = walk_of_thread(s); p.at < end; p.next()) {
    const Sums t = term(p.index(ch));
    sum.a += t.a;
    sum.b += t.b;
  }
  sum.a = block_sum(sum.a);
  sum.b = block_sum(sum.b);
  if (threadIdx.x == 0) partials[ch * s.blocks + blockIdx.y] = sum;
}

// The last pass: block (ch, b) calls apply.at(ch)(k) for every value k of slice b of channel ch.
template <typename Apply>
__global__ void slice_apply_kernel(Apply apply, Slicing s) {
  const int64_t ch = blockIdx.x;
  const auto op = apply.at(ch);
  const int64_t end = s.end(blockIdx.y);
  for (ChannelWalk p = walk_of_thread(s); p.at < end; p.next()) op(p.index(ch));
}

template <typename Terms>
void launch_slice_sums(Sums* partials, const Terms& terms, const Slicing& s, const char* op) {
  slice_sums_kernel<<<s.grid(), kThreads, 0, ::mx::cuda::current_stream()>>>(partials, terms, s);
  MX_CHECK_LAUNCH(op);
}

template <typename Apply>
void launch_slice_apply(const Apply& apply, const Slicing& s, const char* op) {
  slice_apply_kernel<<<s.grid(), kThreads, 0, ::mx::cuda::current_stream()>>>(apply, s);
  MX_CHECK_LAUNCH(op);
}

// Stage 2's totals of a channel: its slices' sums added in slice order ...
struct SliceTotals {
  const Sums* partials;
  int64_t blocks;
  __device__ Sums operator()(int64_t ch) const {
    Sums sum{0, 0};
    for (int64_t b = 0; b < blocks; ++b) {
      sum.a += partials[ch * blocks + b].a;
      sum.b += partials[ch * blocks + b].b;
    }
    return sum;
  }
};

// ... or read from a [2c] buffer of sums (the pieces of the split forward and backward).
struct BufferTotals {
  const double* sums;
  int64_t c;
  __device__ Sums operator()(int64_t ch) const { return bn::load_sums(sums, c, ch); }
};

// Stage 2 of the sums pieces: channel ch's totals into the [2c] buffer.
struct StoreTotals {
  double* sums;
  SliceTotals totals;
  int64_t c;
  __device__ void operator()(int64_t ch) const { bn::store_sums(sums, c, ch, totals(ch)); }
};

// Stages 1 and 2 of a sums piece: the sums of terms over every channel into sums[2c].
template <typename Terms>
void sums_into_buffer(double* sums, const Terms& terms, const Slicing& s, const char* slice_op, const char* store_op) {
  cuda::Workspace scratch(static_cast<size_t>(s.c * s.blocks) * sizeof(Sums));
  Sums* partials = static_cast<Sums*>(scratch.get());
  launch_slice_sums(partials, terms, s, slice_op);
  for_each_index(s.c, StoreTotals{sums, {partials, s.blocks}, s.c}, store_op);
}

// Terms of the forward statistics: x and x^2.
struct Moments {
  const float* x;
  __device__ Moments at(int64_t) const { return *this; }
  __device__ Sums operator()(int64_t k) const { return bn::moments(x[k]); }
};

// Stage 2 of the training forward: mean, 1/sqrt(var + eps) and the running statistics of channel ch.
template <typename Totals>
struct TrainStatistics {
  float *save_mean, *save_invstd, *running_mean, *running_var;
  Totals totals;
  double count;
  float momentum, eps;
  __device__ void operator()(int64_t ch) const {
    const bn::TrainStatistics s =
        bn::train_statistics(totals(ch), count, running_mean[ch], running_var[ch], momentum, eps);
    save_mean[ch] = s.mean;
    save_invstd[ch] = s.invstd;
    running_mean[ch] = s.running_mean;
    running_var[ch] = s.running_var;
  }
};

// Evaluation's statistics: the running mean and its 1/sqrt(var + eps).
struct EvalStatistics {
  float *save_mean, *save_invstd;
  const float *running_mean, *running_var;
  float eps;
  __device__ void operator()(int64_t ch) const {
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = bn::eval_invstd(running_var[ch], eps);
  }
};

// y = x * scale + shift with the channel's scale = gamma * invstd and shift = beta - mean * scale,
// through the ReLU when it is fused.
struct Normalize {
  float* y;
  const float *x, *gamma, *beta, *mean, *invstd;
  bool relu;
  struct Channel {
    float* y;
    const float* x;
    bn::Affine f;
    bool relu;
    __device__ void operator()(int64_t k) const {
      const float v = f(x[k]);
      y[k] = relu ? relu_value(v) : v;
    }
  };
  __device__ Channel at(int64_t ch) const {
    return {y, x, bn::affine(gamma[ch], beta[ch], mean[ch], invstd[ch]), relu};
  }
};

// The gradient reaching batch norm at value k: dy, or dy through the fused ReLU whose output is relu_out.
__device__ float upstream_gradient(const float* dy, const float* relu_out, int64_t k) {
  return relu_out ? relu_gradient(dy[k], relu_out[k]) : dy[k];
}

// Stage 2 and the last pass of the training forward, from the channels' totals over `count` values.
template <typename Totals>
void train_forward_from(const Totals& totals, double count, float* y, float* save_mean, float* save_invstd,
                        float* running_mean, float* running_var, const float* x, const float* gamma, const float* beta,
                        const Slicing& s, float momentum, float eps, bool relu, const char* statistics_op,
                        const char* op) {
  const TrainStatistics<Totals> statistics{save_mean, save_invstd, running_mean, running_var,
                                           totals,    count,       momentum,     eps};
  for_each_index(s.c, statistics, statistics_op);
  launch_slice_apply(Normalize{y, x, gamma, beta, save_mean, save_invstd, relu}, s, op);
}

// Terms of the backward reductions: dy and dy * (x - mean), dy masked by the fused ReLU's output.
struct GradientMoments {
  const float *dy, *x, *mean, *relu_out;
  struct Channel {
    const float *dy, *x, *relu_out;
    float mean;
    __device__ Sums operator()(int64_t k) const {
      return bn::gradient_moments(upstream_gradient(dy, relu_out, k), x[k], mean);
    }
  };
  __device__ Channel at(int64_t ch) const { return {dy, x, relu_out, mean[ch]}; }
};

// Stage 2 of the backward, from the channels' totals over `count` values: dgamma and dbeta of channel
// ch when wanted, and the coefficients of its dx when wanted.
template <typename Totals>
struct BackwardCoefficients {
  float *dgamma, *dbeta;            // null when the parameter gradients are not wanted
  bn::InputGradient* coefficients;  // null when dx is not wanted
  const float *gamma, *save_mean, *save_invstd;
  Totals totals;
  double count;
  bool training;
  __device__ void operator()(int64_t ch) const {
    const Sums sum = totals(ch);
    if (dgamma) {
      dgamma[ch] = bn::dgamma(sum, save_invstd[ch]);
      dbeta[ch] = bn::dbeta(sum);
    }
    if (coefficients)
      coefficients[ch] = bn::input_gradient(sum, count, gamma[ch], save_mean[ch], save_invstd[ch], training);
  }
};

struct InputGradient {
  float* dx;
  const float *dy, *x, *relu_out;
  const bn::InputGradient* coefficients;
  struct Channel {
    float* dx;
    const float *dy, *x, *relu_out;
    bn::InputGradient f;
    __device__ void operator()(int64_t k) const { dx[k] = f(upstream_gradient(dy, relu_out, k), x[k]); }
  };
  __device__ Channel at(int64_t ch) const { return {dx, dy, x, relu_out, coefficients[ch]}; }
};

// Stage 2 and, when dx is wanted, the last pass of the backward, from the channels' totals.
template <typename Totals>
void backward_from(const Totals& totals, double count, bool training, float* dx, float* dgamma, float* dbeta,
                   const float* dy, const float* x, const float* gamma, const float* save_mean,
                   const float* save_invstd, const float* relu_out, const Slicing& s, const char* coefficients_op,
                   const char* op) {
  cuda::Workspace scratch(dx ? static_cast<size_t>(s.c) * sizeof(bn::InputGradient) : 0);
  auto* coefficients = static_cast<bn::InputGradient*>(scratch.get());
  for_each_index(s.c,
                 BackwardCoefficients<Totals>{dgamma, dbeta, coefficients, gamma, save_mean, save_invstd, totals, count,
                                              training},
                 coefficients_op);
  if (dx) launch_slice_apply(InputGradient{dx, dy, x, relu_out, coefficients}, s, op);
}

}  // namespace

template <>
void batch_norm_train_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                            float* running_var, const float* x, const float* gamma, const float* beta,
                                            int64_t n, int64_t c, int64_t hw, float momentum, float eps, bool relu) {
  if (c <= 0 || n * hw <= 0) return;
  const Slicing s = slicing(n, c, hw);
  cuda::Workspace scratch(static_cast<size_t>(c * s.blocks) * sizeof(Sums));
  Sums* partials = static_cast<Sums*>(scratch.get());
  launch_slice_sums(partials, Moments{x}, s, "batch_norm_train_forward (slice sums)");
  train_forward_from(SliceTotals{partials, s.blocks}, static_cast<double>(n * hw), y, save_mean, save_invstd,
                     running_mean, running_var, x, gamma, beta, s, momentum, eps, relu,
                     "batch_norm_train_forward (statistics)", "batch_norm_train_forward");
}

template <>
void batch_norm_forward_sums<Device::CUDA>(double* sums, const float* x, int64_t n, int64_t c, int64_t hw) {
  if (c <= 0 || n * hw <= 0) return;
  sums_into_buffer(sums, Moments{x}, slicing(n, c, hw), "batch_norm_forward_sums (slice sums)",
                   "batch_norm_forward_sums");
}

template <>
void batch_norm_train_forward_from_sums<Device::CUDA>(float* y, float* save_mean, float* save_invstd,
                                                      float* running_mean, float* running_var, const float* x,
                                                      const float* gamma, const float* beta, const double* sums,
                                                      double count, int64_t n, int64_t c, int64_t hw, float momentum,
                                                      float eps, bool relu) {
  if (c <= 0 || n * hw <= 0) return;
  train_forward_from(BufferTotals{sums, c}, count, y, save_mean, save_invstd, running_mean, running_var, x, gamma,
                     beta, slicing(n, c, hw), momentum, eps, relu, "batch_norm_train_forward_from_sums (statistics)",
                     "batch_norm_train_forward_from_sums");
}

template <>
void batch_norm_eval_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, const float* x,
                                           const float* gamma, const float* beta, const float* running_mean,
                                           const float* running_var, int64_t n, int64_t c, int64_t hw, float eps,
                                           bool relu) {
  if (c <= 0 || n * hw <= 0) return;
  for_each_index(c, EvalStatistics{save_mean, save_invstd, running_mean, running_var, eps},
                 "batch_norm_eval_forward (statistics)");
  launch_slice_apply(Normalize{y, x, gamma, beta, save_mean, save_invstd, relu}, slicing(n, c, hw),
                     "batch_norm_eval_forward");
}

template <>
void batch_norm_backward<Device::CUDA>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                       const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                       int64_t c, int64_t hw, bool training, const float* relu_out) {
  if (c <= 0 || n * hw <= 0) return;
  const Slicing s = slicing(n, c, hw);
  cuda::Workspace scratch(static_cast<size_t>(c * s.blocks) * sizeof(Sums));
  Sums* partials = static_cast<Sums*>(scratch.get());
  launch_slice_sums(partials, GradientMoments{dy, x, save_mean, relu_out}, s, "batch_norm_backward (slice sums)");
  backward_from(SliceTotals{partials, s.blocks}, static_cast<double>(n * hw), training, dx, dgamma, dbeta, dy, x,
                gamma, save_mean, save_invstd, relu_out, s, "batch_norm_backward (coefficients)",
                "batch_norm_backward");
}

template <>
void batch_norm_backward_sums<Device::CUDA>(double* sums, const float* dy, const float* x, const float* save_mean,
                                            int64_t n, int64_t c, int64_t hw, const float* relu_out) {
  if (c <= 0 || n * hw <= 0) return;
  sums_into_buffer(sums, GradientMoments{dy, x, save_mean, relu_out}, slicing(n, c, hw),
                   "batch_norm_backward_sums (slice sums)", "batch_norm_backward_sums");
}

template <>
void batch_norm_param_grads<Device::CUDA>(float* dgamma, float* dbeta, const double* sums, const float* save_invstd,
                                          int64_t c) {
  for_each_index(c,
                 BackwardCoefficients<BufferTotals>{dgamma, dbeta, nullptr, nullptr, nullptr, save_invstd, {sums, c},
                                                    0.0, true},
                 "batch_norm_param_grads");
}

template <>
void batch_norm_backward_dx_from_sums<Device::CUDA>(float* dx, const float* dy, const float* x, const float* gamma,
                                                    const float* save_mean, const float* save_invstd,
                                                    const double* sums, double count, int64_t n, int64_t c,
                                                    int64_t hw, const float* relu_out) {
  if (c <= 0 || n * hw <= 0) return;
  backward_from(BufferTotals{sums, c}, count, true, dx, nullptr, nullptr, dy, x, gamma, save_mean, save_invstd,
                relu_out, slicing(n, c, hw), "batch_norm_backward_dx_from_sums (coefficients)",
                "batch_norm_backward_dx_from_sums");
}

}  // namespace mx::kernels
