// Op front-ends: check shapes and dtypes once, call the device's kernel (engine/dispatch.h), record
// the backward. All float tensors are F32, images NCHW. Every differentiable op here has a
// finite-difference test in tests/; the mixing and perturbation ops at the end record no backward.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/dist/comm.h"
#include "engine/tensor.h"
#include "kernels/augment_mix.h"
#include "kernels/mix_batch.h"

namespace mx::ops {

// Elementwise.
Tensor relu(const Tensor& x);
Tensor add(const Tensor& a, const Tensor& b);  // same shape

// Shape.
Tensor flatten(const Tensor& x);  // [N, ...] -> [N, prod(...)]
Tensor concat_channels(const std::vector<Tensor>& xs);  // NCHW along C

// Convolution and linear. weight: conv [O, C/groups, kh, kw], linear [out, in]; bias optional.
struct Conv2dArgs {
  int stride = 1;
  int padding = 0;
  int groups = 1;
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dArgs& args);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);  // x [N, in] -> [N, out]

// Counts the multiply-adds of the conv2d and linear calls made on this thread while it lives (an enclosing
// counter counts them too): N * O * OH * OW * (C / groups) * kh * kw per convolution, N * in * out per
// linear layer; biases and backward passes are not counted. For model summaries (`mixup models`).
class MacCounter {
 public:
  MacCounter();
  ~MacCounter();
  MacCounter(const MacCounter&) = delete;
  MacCounter& operator=(const MacCounter&) = delete;
  int64_t count() const { return count_; }
  static void record(int64_t macs);  // called by the op front-ends

 private:
  int64_t count_ = 0;
  MacCounter* outer_;
};

// Batch norm over N,H,W per channel. In training it uses batch statistics and updates the running
// ones in place (PyTorch semantics: unbiased variance for the running estimate, momentum 0.1);
// in evaluation it uses the running statistics.
// Synchronized batch norm (--sync-bn): in training with `sync` set and more than one rank, the batch
// statistics are those of all ranks' batches together: the forward all-reduces the per-channel Σx and
// Σx², the backward Σdy and Σdy·(x − mean) before it computes dx. Every rank must call it in the same
// order, and every rank's batch must have the same size (the trainer guarantees it in training): the
// global count per channel is taken as the local N·H·W times the world size. dgamma and dbeta stay
// this rank's own; the trainer's average of the gradients over the ranks makes them those of the
// whole batch.
struct BatchNormArgs {
  bool training = true;
  float momentum = 0.1f;
  float eps = 1e-5f;
  dist::Communicator* sync = nullptr;  // not owned; null or a world of one rank: this rank's batch alone
  // Output relu(bn(x)) in the same pass. It equals ops::relu of the plain output bit for bit with these
  // kernels (tests/test_batch_norm_relu.cpp); the fused and plain backwards are separate loops, so another
  // compiler could vectorize their sums apart and differ in the last bits.
  bool relu = false;
};
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, const BatchNormArgs& args);

// Pooling. Windows never start in padding; output size floor((H + 2p - k) / s) + 1.
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);
Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);  // counts padding (PyTorch default)
Tensor global_avg_pool(const Tensor& x);  // [N, C, H, W] -> [N, C]

// Inverted dropout: zero with probability p and scale survivors by 1/(1-p). The mask comes from the
// counter-based generator keyed by (seed, element), so CPU and GPU draw the same mask.
Tensor dropout(const Tensor& x, float p, uint64_t seed, bool training);

// Mixed-label cross-entropy fused with log-softmax: mean over samples of
// lam[i] * CE(logits[i], ya[i]) + (1 - lam[i]) * CE(logits[i], yb[i]). logits [N, K] F32,
// ya/yb [N] I32, lam [N] F32. Labels are never one-hot. Returns a one-element tensor.
Tensor mixed_cross_entropy(const Tensor& logits, const Tensor& ya, const Tensor& yb, const Tensor& lam);

// Fused batch mixup (kernels/mix_batch.h): out[i] is built from images[i] and
// images[samples[i].partner] as samples[i] says. images [N, C, H, W]; one sample per image, partners
// in [0, N), paste boxes inside the image. On a GPU the samples travel there first (one copy).
Tensor mix_batch(const Tensor& images, const std::vector<kernels::MixSample>& samples);

// A batch built and mixed straight from stored uint8 images (kernels/augment_mix.h): sample i is
// stored[augment[i].source] moved and mirrored as augment[i] says, normalized through `table`, then
// mixed with sample samples[i].partner as mix_batch does. stored [count, C, H, W] U8; table [C * 256]
// F32 on its device; one augmentation and one mixing sample per output image. Returns [n, C, H, W] F32
// on the stored images' device; on a GPU the plan travels there first (one copy).
Tensor augment_mix(const Tensor& stored, const Tensor& table, const std::vector<kernels::AugmentSample>& augment,
                   const std::vector<kernels::MixSample>& samples);

// Weight-space perturbation for loss landscapes (kernels/perturb.h), in place; every tensor has w's
// shape and device. perturb_apply: w = w0 + alpha d1 + beta d2 (w may be w0). noise_direction:
// d = T * w elementwise, T ~ N(mean, std^2) drawn from (seed, element), the same on every device.
void perturb_apply(Tensor& w, const Tensor& w0, const Tensor& d1, const Tensor& d2, float alpha, float beta);
void noise_direction(Tensor& d, const Tensor& w, float mean, float std, uint64_t seed);

// The finiteness record of one training step written into `record` (kernels/step_guard.h): the
// gradient's 2-norm, the loss, and the skip flag the SGD update reads (Sgd::step_unless). record: F32
// [3] (a row of a larger buffer), grads F32 (the flat gradient buffer), loss F32 [1], all on one device;
// with loss_decides false only the gradient sets the flag. No autograd.
void step_guard(Tensor& record, const Tensor& grads, const Tensor& loss, bool loss_decides);
// dst = saved where flag (F32 [1], a step_guard record's skip flag) is not 0, read on the device; dst
// and saved: F32 of one shape, all on one device. No autograd.
void restore_flagged(Tensor& dst, const Tensor& saved, const Tensor& flag);

// The metrics of one batch written into `row` (kernels/batch_scores.h): the loss, the top-1 hits
// weighted by lam, and the two top-2 counts. row: F32 [4] on the logits' device (a row of a larger
// buffer); no autograd. Labels as for mixed_cross_entropy.
void batch_scores(Tensor& row, const Tensor& loss, const Tensor& logits, const Tensor& ya, const Tensor& yb,
                  const Tensor& lam);

// GAN ops: instance norm, reflection padding, transposed convolution (MixCycleGAN).

// Each (sample, channel) plane normalized by its own mean and biased variance (eps inside the sqrt),
// then gamma[c] * . + beta[c] when gamma and beta are defined (affine), else no affine. No running
// statistics (torch.nn.InstanceNorm2d defaults: affine=False, track_running_stats=False). Planes need
// more than one value (as in PyTorch); gamma and beta are both given or both undefined.
Tensor instance_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps = 1e-5f);
// torch.nn.ReflectionPad2d(pad): pad on all four sides, pad < H and pad < W (else a one-line error).
Tensor reflection_pad2d(const Tensor& x, int pad);
// torch.nn.functional.conv_transpose2d: x [N, Cin, H, W], weight [Cin, Cout / groups, kh, kw], bias [Cout]
// optional; output H_out = (H - 1) * stride - 2 * padding + kh + output_padding (output_padding < stride).
// The adjoint of conv2d (kernels/conv.h): its forward is conv2d's backward-data, its input gradient
// conv2d's forward. MacCounter counts N * Cin * H * W * (Cout / groups) * kh * kw, the same products.
struct ConvTranspose2dArgs {
  int stride = 1;
  int padding = 0;
  int output_padding = 0;
  int groups = 1;
};
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dArgs& args);

// GAN ops: activations, blends and losses (MixCycleGAN; kernels/elementwise.h, kernels/pointwise_loss.h).

Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float slope);  // x > 0 ? x : slope * x (torch's negative_slope)
Tensor scale(const Tensor& x, float s);           // s * x
// Per-sample blend: out[i] = lam[i] * a[i] + (1 - lam[i]) * b[i]; a and b [N, ...] of one shape and device,
// lam [N] F32 on that device (no gradient to lam).
Tensor blend(const Tensor& a, const Tensor& b, const Tensor& lam);
// Mean losses (one-element outputs), gradients to every input that requires grad, target included.
Tensor l1_loss(const Tensor& x, const Tensor& target);   // mean |x - t| (torch.nn.L1Loss; the gradient at x = t is 0)
Tensor mse_loss(const Tensor& x, const Tensor& target);  // mean (x - t)^2 (torch.nn.MSELoss)
// Against one target per sample, t [N] F32 broadcast over pred [N, ...]: the mean over every element of
// (pred - t)^2, or of the binary cross-entropy with logits max(p, 0) - p t + log(1 + exp(-|p|))
// (torch.nn.BCEWithLogitsLoss). The discriminator's targets: 1, 0, or the mixup-C lambda. No gradient to t.
Tensor mse_to_target(const Tensor& pred, const Tensor& target);
Tensor bce_with_logits_to_target(const Tensor& pred, const Tensor& target);

}  // namespace mx::ops
