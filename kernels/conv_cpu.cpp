// CPU convolution. Images go through the GEMMs in chunks of a few images: the chunk's column matrix
// col = im2col(x) [cg*kh*kw, images*oh*ow] holds the images' columns side by side, so the small maps of
// deep layers (2x2, 4x4) still give the GEMM a few hundred columns and the weight is packed once per
// chunk, not once per image. Per chunk and group: y_g = W_g col, dW_g += dy_g col^T, dcol = W_g^T dy_g
// then col2im into dx; y and dy are scattered and gathered between the chunk's [og, images*oh*ow] layout
// and the tensors' [images, og, oh*ow]. Chunks are spread over OpenMP threads; the GEMMs inside run
// single-threaded (Eigen does so inside a parallel region), each thread owns its scratch and its
// weight-gradient partial, and partials are summed in thread order so the result is deterministic for a
// given thread count. A one-image chunk of a 1x1, stride-1, unpadded convolution uses the image itself
// as the column matrix and the output directly.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/channel_bias.h"
#include "kernels/conv_chunks.h"
#include "kernels/conv_winograd.h"
#include "kernels/eigen_maps.h"

namespace mx::kernels {

namespace {

using namespace conv_chunks;  // NOLINT(google-build-using-namespace): this file's own helpers

bool is_pointwise(const ConvShape& s) { return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.padding == 0; }

// Smallest j >= 0 with j * stride >= target.
int64_t first_at_least(int64_t target, int64_t stride) { return target <= 0 ? 0 : (target + stride - 1) / stride; }

// Visits every (column-matrix row, output row i) pair of one image's group as
// fn(dst, inside, src, lo, hi): dst is the offset of col[row][i * ow] in a column matrix whose rows are
// ld floats apart; inside is false when the input row lies in the padding; otherwise output columns j
// in [lo, hi) read the input element at offset src + (j - lo) * stride and the other columns lie in
// the padding.
template <typename Fn>
void for_each_col_row(int64_t cg, int64_t ld, const ConvShape& s, Fn&& fn) {
  for (int64_t ch = 0; ch < cg; ++ch)
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj) {
        const int64_t row = (ch * s.kh + ki) * s.kw + kj;
        const int64_t lo = std::min(s.ow, first_at_least(s.padding - kj, s.stride));
        const int64_t hi = std::max(lo, std::min(s.ow, first_at_least(s.w + s.padding - kj, s.stride)));
        for (int64_t i = 0; i < s.oh; ++i) {
          const int64_t r = i * s.stride - s.padding + ki;
          fn(row * ld + i * s.ow, r >= 0 && r < s.h, (ch * s.h + r) * s.w + lo * s.stride - s.padding + kj, lo, hi);
        }
      }
}

// Stride 1 with ow == w (a "same" convolution): the column-matrix row of tap (ki, kj) is the channel
// shifted by (ki - padding) rows and (kj - padding) columns and flattened, so it moves as one block.
// Entry t = i * w + j of the row pairs with channel element t + shift for t in [t0, t1), except in the
// columns [wrap_begin, wrap_end) of rows [i_lo, i_hi), which wrapped round from a neighbouring row and
// belong to the padding, as does everything outside [t0, t1).
bool is_same_width(const ConvShape& s) { return s.stride == 1 && s.ow == s.w && s.padding < s.w; }

struct ShiftedTap {
  int64_t shift, t0, t1, i_lo, i_hi, wrap_begin, wrap_end;
};

ShiftedTap shifted_tap(int64_t ki, int64_t kj, const ConvShape& s) {
  const int64_t w = s.w, dr = ki - s.padding, dc = kj - s.padding;
  ShiftedTap tap{};
  tap.shift = dr * w + dc;
  tap.i_lo = std::clamp<int64_t>(-dr, 0, s.oh);
  tap.i_hi = std::clamp<int64_t>(s.h - dr, tap.i_lo, s.oh);
  tap.t0 = tap.i_lo * w + std::max<int64_t>(0, -dc);
  tap.t1 = std::max(tap.t0, tap.i_hi * w - std::max<int64_t>(0, dc));
  tap.wrap_begin = dc < 0 ? 0 : w - dc;
  tap.wrap_end = dc < 0 ? -dc : w;
  return tap;
}

// Zeroes the wrapped columns of one column-matrix row, column by column: a few strided stores.
void zero_wrapped(float* d, const ShiftedTap& tap, int64_t w) {
  for (int64_t j = tap.wrap_begin; j < tap.wrap_end; ++j)
    for (int64_t i = tap.i_lo; i < tap.i_hi; ++i) d[i * w + j] = 0.f;
}

// Visits the column-matrix rows of one image's group as fn(row, channel, tap); rows are ld floats apart.
template <typename Fn>
void for_each_shifted_tap(int64_t cg, int64_t ld, const ConvShape& s, Fn&& fn) {
  const int64_t hw = s.h * s.w;
  for (int64_t ch = 0; ch < cg; ++ch)
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj)
        fn(((ch * s.kh + ki) * s.kw + kj) * ld, ch * hw, shifted_tap(ki, kj, s));
}

void im2col_same_width(float* col, int64_t ld, const float* x, int64_t cg, const ConvShape& s) {
  const int64_t ohw = s.oh * s.ow;
  for_each_shifted_tap(cg, ld, s, [&](int64_t row, int64_t channel, const ShiftedTap& tap) {
    float* d = col + row;
    const float* xc = x + channel;
    std::fill(d, d + tap.t0, 0.f);
    std::copy(xc + tap.t0 + tap.shift, xc + tap.t1 + tap.shift, d + tap.t0);
    std::fill(d + tap.t1, d + ohw, 0.f);
    zero_wrapped(d, tap, s.w);
  });
}

// dx += col scattered back; the wrapped entries of col are zeroed first so one block add suffices.
void col2im_same_width(float* dx, float* col, int64_t ld, int64_t cg, const ConvShape& s) {
  for_each_shifted_tap(cg, ld, s, [&](int64_t row, int64_t channel, const ShiftedTap& tap) {
    float* d = col + row;
    float* xc = dx + channel;
    zero_wrapped(d, tap, s.w);
    for (int64_t t = tap.t0; t < tap.t1; ++t) xc[t + tap.shift] += d[t];
  });
}

// The image's block col [cg*kh*kw, oh*ow] of a column matrix with rows ld floats apart, from the cg
// channels of one image starting at x.
void im2col(float* col, int64_t ld, const float* x, int64_t cg, const ConvShape& s) {
  if (is_same_width(s)) return im2col_same_width(col, ld, x, cg, s);
  const int64_t st = s.stride;
  for_each_col_row(cg, ld, s, [&](int64_t dst, bool inside, int64_t src, int64_t lo, int64_t hi) {
    float* d = col + dst;
    if (!inside) {
      std::fill(d, d + s.ow, 0.f);
      return;
    }
    const float* xs = x + src;
    std::fill(d, d + lo, 0.f);
    if (st == 1) {
      std::copy(xs, xs + (hi - lo), d + lo);
    } else {
      for (int64_t j = lo; j < hi; ++j) d[j] = xs[(j - lo) * st];
    }
    std::fill(d + hi, d + s.ow, 0.f);
  });
}

// dx (cg channels of one image, already zeroed) += the scatter of the image's block col (rows ld floats
// apart) back onto the image; col is scratch and may be overwritten.
void col2im(float* dx, float* col, int64_t ld, int64_t cg, const ConvShape& s) {
  if (is_same_width(s)) return col2im_same_width(dx, col, ld, cg, s);
  const int64_t st = s.stride;
  for_each_col_row(cg, ld, s, [&](int64_t dst, bool inside, int64_t src, int64_t lo, int64_t hi) {
    if (!inside) return;
    const float* c = col + dst + lo;
    float* dxs = dx + src;
    if (st == 1) {
      for (int64_t j = 0; j < hi - lo; ++j) dxs[j] += c[j];
    } else {
      for (int64_t j = 0; j < hi - lo; ++j) dxs[j * st] += c[j];
    }
  });
}

Chunking chunking(const ConvShape& s, int threads) { return conv_chunks::chunking(s.n, s.oh * s.ow, threads); }

Chunk chunk_at(int64_t index, const Chunking& c, const ConvShape& s) {
  return conv_chunks::chunk_at(index, c, s.n, s.oh * s.ow);
}

// Scratch floats per thread: the column matrix [kdim, ld] and a [og, ld] output or gradient block.
size_t scratch_floats(const Chunking& c, const ConvShape& s) {
  const int64_t ld = c.images * s.oh * s.ow;
  return static_cast<size_t>((s.c / s.groups * s.kh * s.kw + s.o / s.groups) * ld);
}

bool uses_image_as_columns(const Chunk& k, const ConvShape& s) { return is_pointwise(s) && k.images == 1; }

// The column matrix [kdim, ld] of group g of the chunk: im2col into col, or the image itself.
const float* chunk_columns(float* col, const float* x, const Chunk& k, int64_t g, const ConvShape& s) {
  const int64_t cg = s.c / s.groups, hw = s.h * s.w, ohw = s.oh * s.ow;
  if (uses_image_as_columns(k, s)) return x + (k.first * s.c + g * cg) * hw;
  for (int64_t b = 0; b < k.images; ++b) im2col(col + b * ohw, k.ld, x + ((k.first + b) * s.c + g * cg) * hw, cg, s);
  return col;
}

// Where y_g = W_g col goes: straight into y for a one-image chunk (the layouts agree), else into block.
float* output_block(float* block, float* y, const Chunk& k, int64_t g, const ConvShape& s) {
  return k.images == 1 ? y + (k.first * s.o + g * s.o / s.groups) * s.oh * s.ow : block;
}

// y of group g of the chunk = the [og, ld] output block laid out as [images, og, oh*ow], plus the bias.
void finish_output(float* y, const float* out, const float* bias, const Chunk& k, int64_t g, const ConvShape& s) {
  if (k.images == 1 && !bias) return;  // the GEMM wrote y itself
  const int64_t og = s.o / s.groups, ohw = s.oh * s.ow;
  for (int64_t b = 0; b < k.images; ++b)
    for (int64_t oc = 0; oc < og; ++oc) {
      float* dst = y + ((k.first + b) * s.o + g * og + oc) * ohw;
      const float* src = out + oc * k.ld + b * ohw;
      const float add = bias ? bias[g * og + oc] : 0.f;
      for (int64_t j = 0; j < ohw; ++j) dst[j] = src[j] + add;
    }
}

}  // namespace

template <>
void conv2d_forward<Device::CPU>(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s) {
  if (winograd_fits(s)) return winograd_forward(y, x, weight, bias, s);
  const int64_t og = s.o / s.groups, kdim = s.c / s.groups * s.kh * s.kw;
  const int threads = thread_count(s);
  const Chunking chunks = chunking(s, threads);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    float* scratch = thread_scratch(scratch_floats(chunks, s));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks.count; ++c) {
      const Chunk k = chunk_at(c, chunks, s);
      for (int64_t g = 0; g < s.groups; ++g) {
        const float* col = chunk_columns(scratch, x, k, g, s);
        float* out = output_block(scratch + kdim * k.ld, y, k, g, s);
        mat(out, og, k.ld).noalias() = mat(weight + g * og * kdim, og, kdim) * mat(col, kdim, k.ld);
        finish_output(y, out, bias, k, g, s);
      }
    }
  }
}

namespace {

// dy of group g of the chunk as an [og, ld] matrix: dy itself for one image, else gathered into block.
const float* chunk_gradient(float* block, const float* dy, const Chunk& k, int64_t g, const ConvShape& s) {
  const int64_t og = s.o / s.groups, ohw = s.oh * s.ow;
  if (k.images == 1) return dy + (k.first * s.o + g * og) * ohw;
  for (int64_t b = 0; b < k.images; ++b)
    for (int64_t oc = 0; oc < og; ++oc) {
      const float* src = dy + ((k.first + b) * s.o + g * og + oc) * ohw;
      std::copy(src, src + ohw, block + oc * k.ld + b * ohw);
    }
  return block;
}

// dx of group g of the chunk from dcol = W_g^T dy_g; col is scratch for dcol.
void input_gradient(float* dx, float* col, ConstMatMap wg, ConstMatMap dyg, const Chunk& k, int64_t g,
                    const ConvShape& s) {
  const int64_t cg = s.c / s.groups, kdim = cg * s.kh * s.kw, hw = s.h * s.w, ohw = s.oh * s.ow;
  if (uses_image_as_columns(k, s)) {
    mat(dx + (k.first * s.c + g * cg) * hw, kdim, k.ld).noalias() = wg.transpose() * dyg;
    return;
  }
  mat(col, kdim, k.ld).noalias() = wg.transpose() * dyg;
  for (int64_t b = 0; b < k.images; ++b) {
    float* dxg = dx + ((k.first + b) * s.c + g * cg) * hw;
    std::fill(dxg, dxg + cg * hw, 0.f);
    col2im(dxg, col + b * ohw, k.ld, cg, s);
  }
}

}  // namespace

template <>
void conv2d_backward<Device::CPU>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                  const float* weight, const ConvShape& s) {
  if (dbias) channel_bias_backward<Device::CPU>(dbias, dy, s.n, s.o, s.oh * s.ow);
  if (winograd_fits(s)) return winograd_backward(dx, dweight, dy, x, weight, s);
  if (!dx && !dweight) return;
  const int64_t og = s.o / s.groups, kdim = s.c / s.groups * s.kh * s.kw, wsize = s.o * kdim;
  const int threads = thread_count(s);
  const Chunking chunks = chunking(s, threads);
  std::vector<float> partials(dweight ? static_cast<size_t>(threads * wsize) : 0, 0.f);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    float* scratch = thread_scratch(scratch_floats(chunks, s));
    float* dw_partial = dweight ? partials.data() + omp_get_thread_num() * wsize : nullptr;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks.count; ++c) {
      const Chunk k = chunk_at(c, chunks, s);
      for (int64_t g = 0; g < s.groups; ++g) {
        ConstMatMap dyg = mat(chunk_gradient(scratch + kdim * k.ld, dy, k, g, s), og, k.ld);
        ConstMatMap wg = mat(weight + g * og * kdim, og, kdim);
        if (dweight) {
          ConstMatMap colm = mat(chunk_columns(scratch, x, k, g, s), kdim, k.ld);
          mat(dw_partial + g * og * kdim, og, kdim).noalias() += dyg * colm.transpose();
        }
        if (dx) input_gradient(dx, scratch, wg, dyg, k, g, s);
      }
    }
  }
  if (dweight) conv_chunks::sum_partials(dweight, partials, threads, wsize);
}

}  // namespace mx::kernels
