// CUDA batch norm. A channel's n*hw values are cut into slices, one block each, so that a layer with
// few channels still fills the GPU, and every sum runs in a fixed order, so a run repeats bit for bit:
// stage 1 sums each slice (in double, as the CPU twin) into a scratch buffer; stage 2, one thread per
// channel, adds its slices' sums in slice order and derives the channel's statistics and coefficients
// with the CPU twin's formulas; a last pass applies them over the same slices. How many slices a
// channel gets depends on the shape alone, never on the device.
#include <algorithm>

#include "engine/cuda/workspace.h"
#include "kernels/batchnorm.h"
#include "kernels/launch.cuh"

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

// Two sums of one slice or channel.
struct Sums {
  double a, b;
};

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

// Stage 2's total of channel ch: its slices' sums added in slice order.
__device__ Sums channel_sums(const Sums* partials, int64_t blocks, int64_t ch) {
  Sums sum{0, 0};
  for (int64_t b = 0; b < blocks; ++b) {
    sum.a += partials[ch * blocks + b].a;
    sum.b += partials[ch * blocks + b].b;
  }
  return sum;
}

// Terms of the forward statistics: x and x^2.
struct Moments {
  const float* x;
  __device__ Moments at(int64_t) const { return *this; }
  __device__ Sums operator()(int64_t k) const {
    const double v = x[k];
    return {v, v * v};
  }
};

// Stage 2 of the training forward: mean, 1/sqrt(var + eps) and the running statistics of channel ch.
struct TrainStatistics {
  float *save_mean, *save_invstd, *running_mean, *running_var;
  const Sums* partials;
  int64_t blocks;
  double count;
  float momentum, eps;
  __device__ void operator()(int64_t ch) const {
    const Sums sum = channel_sums(partials, blocks, ch);
    const double mean = sum.a / count;
    const double var = fmax(sum.b / count - mean * mean, 0.0);
    save_mean[ch] = static_cast<float>(mean);
    save_invstd[ch] = static_cast<float>(1.0 / sqrt(var + eps));
    running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
    running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * var * count / (count - 1.0));
  }
};

// Evaluation's statistics: the running mean and its 1/sqrt(var + eps).
struct EvalStatistics {
  float *save_mean, *save_invstd;
  const float *running_mean, *running_var;
  float eps;
  __device__ void operator()(int64_t ch) const {
    save_mean[ch] = running_mean[ch];
    save_invstd[ch] = 1.f / sqrtf(running_var[ch] + eps);
  }
};

// y = x * scale + shift with the channel's scale = gamma * invstd and shift = beta - mean * scale.
struct Normalize {
  float* y;
  const float *x, *gamma, *beta, *mean, *invstd;
  struct Channel {
    float* y;
    const float* x;
    float scale, shift;
    __device__ void operator()(int64_t k) const { y[k] = x[k] * scale + shift; }
  };
  __device__ Channel at(int64_t ch) const {
    const float scale = gamma[ch] * invstd[ch];
    return {y, x, scale, beta[ch] - mean[ch] * scale};
  }
};

// Terms of the backward reductions: dy and dy * (x - mean).
struct GradientMoments {
  const float *dy, *x, *mean;
  struct Channel {
    const float *dy, *x;
    float mean;
    __device__ Sums operator()(int64_t k) const { return {dy[k], static_cast<double>(dy[k]) * (x[k] - mean)}; }
  };
  __device__ Channel at(int64_t ch) const { return {dy, x, mean[ch]}; }
};

// dx = k * dy + a * x + b per channel.
struct InputGradientCoefficients {
  float k, a, b;
};

// Stage 2 of the backward: dgamma and dbeta of channel ch and, when dx is wanted, its coefficients (the
// CPU twin's form of gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))).
struct BackwardCoefficients {
  float *dgamma, *dbeta;
  InputGradientCoefficients* coefficients;  // null when dx is not wanted
  const float *gamma, *save_mean, *save_invstd;
  const Sums* partials;
  int64_t blocks;
  double count;
  bool training;
  __device__ void operator()(int64_t ch) const {
    const Sums sum = channel_sums(partials, blocks, ch);  // sum dy and sum dy * (x - mean)
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    dgamma[ch] = static_cast<float>(sum.b * invstd);
    dbeta[ch] = static_cast<float>(sum.a);
    if (!coefficients) return;
    const float k = gamma[ch] * invstd;
    const float mean_dy = training ? static_cast<float>(sum.a / count) : 0.f;
    const float proj = training ? static_cast<float>(sum.b / count) * invstd * invstd : 0.f;
    coefficients[ch] = {k, -k * proj, k * (proj * mean - mean_dy)};
  }
};

struct InputGradient {
  float* dx;
  const float *dy, *x;
  const InputGradientCoefficients* coefficients;
  struct Channel {
    float* dx;
    const float *dy, *x;
    InputGradientCoefficients f;
    __device__ void operator()(int64_t i) const { dx[i] = f.k * dy[i] + f.a * x[i] + f.b; }
  };
  __device__ Channel at(int64_t ch) const { return {dx, dy, x, coefficients[ch]}; }
};

}  // namespace

template <>
void batch_norm_train_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                            float* running_var, const float* x, const float* gamma, const float* beta,
                                            int64_t n, int64_t c, int64_t hw, float momentum, float eps) {
  if (c <= 0 || n * hw <= 0) return;
  const Slicing s = slicing(n, c, hw);
  cuda::Workspace scratch(static_cast<size_t>(c * s.blocks) * sizeof(Sums));
  Sums* partials = static_cast<Sums*>(scratch.get());
  launch_slice_sums(partials, Moments{x}, s, "batch_norm_train_forward (slice sums)");
  for_each_index(c,
                 TrainStatistics{save_mean, save_invstd, running_mean, running_var, partials, s.blocks,
                                 static_cast<double>(n * hw), momentum, eps},
                 "batch_norm_train_forward (statistics)");
  launch_slice_apply(Normalize{y, x, gamma, beta, save_mean, save_invstd}, s, "batch_norm_train_forward");
}

template <>
void batch_norm_eval_forward<Device::CUDA>(float* y, float* save_mean, float* save_invstd, const float* x,
                                           const float* gamma, const float* beta, const float* running_mean,
                                           const float* running_var, int64_t n, int64_t c, int64_t hw, float eps) {
  if (c <= 0 || n * hw <= 0) return;
  for_each_index(c, EvalStatistics{save_mean, save_invstd, running_mean, running_var, eps},
                 "batch_norm_eval_forward (statistics)");
  launch_slice_apply(Normalize{y, x, gamma, beta, save_mean, save_invstd}, slicing(n, c, hw),
                     "batch_norm_eval_forward");
}

template <>
void batch_norm_backward<Device::CUDA>(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                       const float* gamma, const float* save_mean, const float* save_invstd, int64_t n,
                                       int64_t c, int64_t hw, bool training) {
  if (c <= 0 || n * hw <= 0) return;
  const Slicing s = slicing(n, c, hw);
  const size_t partial_bytes = static_cast<size_t>(c * s.blocks) * sizeof(Sums);
  cuda::Workspace scratch(partial_bytes + (dx ? static_cast<size_t>(c) * sizeof(InputGradientCoefficients) : 0));
  Sums* partials = static_cast<Sums*>(scratch.get());
  auto* coefficients =
      dx ? reinterpret_cast<InputGradientCoefficients*>(static_cast<char*>(scratch.get()) + partial_bytes) : nullptr;
  launch_slice_sums(partials, GradientMoments{dy, x, save_mean}, s, "batch_norm_backward (slice sums)");
  for_each_index(c,
                 BackwardCoefficients{dgamma, dbeta, coefficients, gamma, save_mean, save_invstd, partials, s.blocks,
                                      static_cast<double>(n * hw), training},
                 "batch_norm_backward (coefficients)");
  if (dx) launch_slice_apply(InputGradient{dx, dy, x, coefficients}, s, "batch_norm_backward");
}

}  // namespace mx::kernels
