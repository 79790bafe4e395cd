// CPU convolution. Per image and group: col = im2col(x) [cg*kh*kw, oh*ow], y = W_g col,
// dW_g += dy col^T, dcol = W_g^T dy then col2im into dx. Images are spread over OpenMP threads; the
// GEMMs inside run single-threaded (Eigen does so inside a parallel region), each thread owns its
// column buffer and its weight-gradient partial, and partials are summed in thread order so the result
// is deterministic. A batch of one runs serially and leaves Eigen free to thread its GEMMs. A 1x1,
// stride-1, unpadded convolution uses the image itself as the column matrix.
#include "kernels/conv.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/eigen_maps.h"

namespace mx::kernels {

namespace {

// A per-thread scratch buffer that only grows, so steady-state training allocates nothing.
float* thread_scratch(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// Threads pay off above about a million multiply-adds; tiny convolutions (tests) stay serial.
bool worth_threads(const ConvShape& s) {
  return s.n > 1 && s.n * s.o * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw > (1 << 20);
}

bool is_pointwise(const ConvShape& s) { return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.padding == 0; }

// Smallest j >= 0 with j * stride >= target.
int64_t first_at_least(int64_t target, int64_t stride) { return target <= 0 ? 0 : (target + stride - 1) / stride; }

// Visits every (column-matrix row, output row i) pair of one image's group as
// fn(dst, inside, src, lo, hi): dst is the offset of col[row][i * ow]; inside is false when the input
// row lies in the padding; otherwise output columns j in [lo, hi) read the input element at offset
// src + (j - lo) * stride and the other columns lie in the padding.
template <typename Fn>
void for_each_col_row(int64_t cg, const ConvShape& s, Fn&& fn) {
  const int64_t ohw = s.oh * s.ow;
  for (int64_t ch = 0; ch < cg; ++ch)
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj) {
        const int64_t row = (ch * s.kh + ki) * s.kw + kj;
        const int64_t lo = std::min(s.ow, first_at_least(s.padding - kj, s.stride));
        const int64_t hi = std::max(lo, std::min(s.ow, first_at_least(s.w + s.padding - kj, s.stride)));
        for (int64_t i = 0; i < s.oh; ++i) {
          const int64_t r = i * s.stride - s.padding + ki;
          fn(row * ohw + i * s.ow, r >= 0 && r < s.h, (ch * s.h + r) * s.w + lo * s.stride - s.padding + kj, lo, hi);
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

// Visits the column-matrix rows of one image's group as fn(row, channel, tap).
template <typename Fn>
void for_each_shifted_tap(int64_t cg, const ConvShape& s, Fn&& fn) {
  const int64_t ohw = s.oh * s.ow, hw = s.h * s.w;
  for (int64_t ch = 0; ch < cg; ++ch)
    for (int64_t ki = 0; ki < s.kh; ++ki)
      for (int64_t kj = 0; kj < s.kw; ++kj)
        fn(((ch * s.kh + ki) * s.kw + kj) * ohw, ch * hw, shifted_tap(ki, kj, s));
}

void im2col_same_width(float* col, const float* x, int64_t cg, const ConvShape& s) {
  const int64_t ohw = s.oh * s.ow;
  for_each_shifted_tap(cg, s, [&](int64_t row, int64_t channel, const ShiftedTap& tap) {
    float* d = col + row;
    const float* xc = x + channel;
    std::fill(d, d + tap.t0, 0.f);
    std::copy(xc + tap.t0 + tap.shift, xc + tap.t1 + tap.shift, d + tap.t0);
    std::fill(d + tap.t1, d + ohw, 0.f);
    zero_wrapped(d, tap, s.w);
  });
}

// dx += col scattered back; the wrapped entries of col are zeroed first so one block add suffices.
void col2im_same_width(float* dx, float* col, int64_t cg, const ConvShape& s) {
  for_each_shifted_tap(cg, s, [&](int64_t row, int64_t channel, const ShiftedTap& tap) {
    float* d = col + row;
    float* xc = dx + channel;
    zero_wrapped(d, tap, s.w);
    for (int64_t t = tap.t0; t < tap.t1; ++t) xc[t + tap.shift] += d[t];
  });
}

// col [cg*kh*kw, oh*ow] from the cg channels of one image starting at x.
void im2col(float* col, const float* x, int64_t cg, const ConvShape& s) {
  if (is_same_width(s)) return im2col_same_width(col, x, cg, s);
  const int64_t st = s.stride;
  for_each_col_row(cg, s, [&](int64_t dst, bool inside, int64_t src, int64_t lo, int64_t hi) {
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

// dx (cg channels of one image, already zeroed) += the scatter of col back onto the image; col is
// scratch and may be overwritten.
void col2im(float* dx, float* col, int64_t cg, const ConvShape& s) {
  if (is_same_width(s)) return col2im_same_width(dx, col, cg, s);
  const int64_t st = s.stride;
  for_each_col_row(cg, s, [&](int64_t dst, bool inside, int64_t src, int64_t lo, int64_t hi) {
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

}  // namespace

template <>
void conv2d_forward<Device::CPU>(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t kdim = cg * s.kh * s.kw, ohw = s.oh * s.ow, hw = s.h * s.w;
  const bool pointwise = is_pointwise(s);
#pragma omp parallel if (worth_threads(s))
  {
    float* col = pointwise ? nullptr : thread_scratch(static_cast<size_t>(kdim * ohw));
#pragma omp for schedule(static)
    for (int64_t img = 0; img < s.n; ++img) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const float* xg = x + (img * s.c + g * cg) * hw;
        if (!pointwise) im2col(col, xg, cg, s);
        MatMap yg = mat(y + (img * s.o + g * og) * ohw, og, ohw);
        yg.noalias() = mat(weight + g * og * kdim, og, kdim) * mat(pointwise ? xg : col, kdim, ohw);
        if (bias) yg.colwise() += Eigen::Map<const Eigen::VectorXf>(bias + g * og, og);
      }
    }
  }
}

namespace {

// dbias[oc] = sum of dy over images and positions.
void bias_gradient(float* dbias, const float* dy, const ConvShape& s) {
  const int64_t ohw = s.oh * s.ow;
#pragma omp parallel for schedule(static) if (s.n * s.o * ohw > 65536)
  for (int64_t oc = 0; oc < s.o; ++oc) {
    double sum = 0;
    for (int64_t img = 0; img < s.n; ++img) {
      const float* p = dy + (img * s.o + oc) * ohw;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < ohw; ++j) sum += p[j];
    }
    dbias[oc] = static_cast<float>(sum);
  }
}

}  // namespace

template <>
void conv2d_backward<Device::CPU>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                  const float* weight, const ConvShape& s) {
  if (dbias) bias_gradient(dbias, dy, s);
  if (!dx && !dweight) return;
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t kdim = cg * s.kh * s.kw, ohw = s.oh * s.ow, hw = s.h * s.w;
  const int64_t wsize = s.o * kdim;
  const bool pointwise = is_pointwise(s);
  const int max_threads = omp_get_max_threads();
  std::vector<float> partials(dweight ? static_cast<size_t>(max_threads * wsize) : 0, 0.f);
#pragma omp parallel num_threads(max_threads) if (worth_threads(s))
  {
    float* col = pointwise ? nullptr : thread_scratch(static_cast<size_t>(kdim * ohw));
    float* dw_partial = dweight ? partials.data() + omp_get_thread_num() * wsize : nullptr;
#pragma omp for schedule(static)
    for (int64_t img = 0; img < s.n; ++img) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const float* xg = x + (img * s.c + g * cg) * hw;
        ConstMatMap dyg = mat(dy + (img * s.o + g * og) * ohw, og, ohw);
        ConstMatMap wg = mat(weight + g * og * kdim, og, kdim);
        if (dweight) {
          if (!pointwise) im2col(col, xg, cg, s);
          ConstMatMap colm = mat(pointwise ? xg : col, kdim, ohw);
          mat(dw_partial + g * og * kdim, og, kdim).noalias() += dyg * colm.transpose();
        }
        if (!dx) continue;
        float* dxg = dx + (img * s.c + g * cg) * hw;
        if (pointwise) {
          mat(dxg, kdim, ohw).noalias() = wg.transpose() * dyg;
        } else {
          mat(col, kdim, ohw).noalias() = wg.transpose() * dyg;
          std::fill(dxg, dxg + cg * hw, 0.f);
          col2im(dxg, col, cg, s);
        }
      }
    }
  }
  if (!dweight) return;
  std::copy(partials.begin(), partials.begin() + wsize, dweight);
  for (int t = 1; t < max_threads; ++t) {
    const float* p = partials.data() + t * wsize;
#pragma omp parallel for simd schedule(static) if (wsize > 65536)
    for (int64_t i = 0; i < wsize; ++i) dweight[i] += p[i];
  }
}

}  // namespace mx::kernels
