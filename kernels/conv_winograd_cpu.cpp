// CPU Winograd convolution F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016). The output is cut into 2x2 tiles; tile t reads the 4x4 input patch d_t whose corner
// is at (2 ty - padding, 2 tx - padding) and y_t = A^T [sum over c of (G g G^T) ⊙ (B^T d_t B)] A, so one
// tile costs 16 multiplies per (input, output) channel pair where direct convolution costs 36. With the
// 16 positions xi of the 4x4 transforms laid out as separate matrices, the sum over channels is 16
// GEMMs per chunk of images: M[xi] (o x T) = W^[xi] (o x c) U[xi] (c x T) over the chunk's T tiles.
// The backward runs the same algebra in reverse: V = A dY_t A^T per tile, dW^[xi] += V[xi] U[xi]^T and
// dU[xi] = W^[xi]^T V[xi], then dweight = G^T dW^ G and dx = the sum of B dU_t B^T over the overlapping
// patches. Chunks of whole images go to OpenMP threads (conv_chunks.h), the GEMMs inside run on one
// thread, and per-thread weight-gradient partials are summed in thread order.
#include "kernels/conv_winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/conv_chunks.h"
#include "kernels/eigen_maps.h"

namespace mx::kernels {

namespace {

using namespace conv_chunks;  // NOLINT(google-build-using-namespace): this file's own helpers

constexpr int64_t kPositions = 16;  // the 4x4 transform domain

// The one-dimensional factors of the transforms: out(i, value) receives (L v)_i for the vector whose
// element j reads as v(j). Written over accessors so the same factor serves a scalar filter and a whole
// row of tiles at once (the row loops below then vectorize).
struct Bt {  // B^T, 4 -> 4: input patch
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0) - v(2));
    out(1, v(1) + v(2));
    out(2, v(2) - v(1));
    out(3, v(1) - v(3));
  }
};
struct B {  // B, 4 -> 4: input gradient
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0));
    out(1, v(1) - v(2) + v(3));
    out(2, v(1) + v(2) - v(0));
    out(3, -v(3));
  }
};
struct At {  // A^T, 4 -> 2: output tile
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0) + v(1) + v(2));
    out(1, v(1) - v(2) - v(3));
  }
};
struct A {  // A, 2 -> 4: output gradient
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0));
    out(1, v(0) + v(1));
    out(2, v(0) - v(1));
    out(3, -v(1));
  }
};
struct G {  // G, 3 -> 4: filter
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0));
    out(1, 0.5f * (v(0) + v(1) + v(2)));
    out(2, 0.5f * (v(0) - v(1) + v(2)));
    out(3, v(2));
  }
};
struct Gt {  // G^T, 4 -> 3: filter gradient
  template <typename V, typename O>
  void operator()(V v, O out) const {
    out(0, v(0) + 0.5f * (v(1) + v(2)));
    out(1, 0.5f * (v(1) - v(2)));
    out(2, 0.5f * (v(1) + v(2)) + v(3));
  }
};

// The tile grid of the output: th x tw tiles of 2x2, the last row and column cut off by odd sizes. The
// input patches of all tiles lie in the zero-padded plane of (2 th + 2) x (2 tw + 2) whose element
// (i, j) is input (i - padding, j - padding); the output tiles fill a 2 th x 2 tw plane.
struct Tiles {
  int64_t th, tw;
  int64_t per_image() const { return th * tw; }
  int64_t patch_rows() const { return 2 * th + 2; }
  int64_t patch_cols() const { return 2 * tw + 2; }
};

Tiles tiles_of(const ConvShape& s) { return {(s.oh + 1) / 2, (s.ow + 1) / 2}; }

// The 16 transform-domain matrices of a chunk, stride floats apart: [rows, ld] each, plus 16 floats so
// that the 16 streams a transform writes do not all fall in the same cache sets.
int64_t position_stride(int64_t rows, const Chunk& k) { return rows * k.ld + 16; }

// One thread's scratch: the input transform u [16][c][ld] (reused for du), the output block
// [16][o][ld] (each matrix padded as position_stride says), one padded plane, and the tile-row buffers:
// kRowBuffers rows of patch_cols floats hold rows_to_positions' [4][pc], positions_to_rows' [16][tw]
// and, after those, scatter_input_gradient's overlapping columns [8][tw].
constexpr int64_t kRowBuffers = 16 + 8;

struct Scratch {
  float *u, *m, *plane, *rows;
};

// The filters' transform-domain matrices W^[xi] (and the weight gradient's) are [o, c] each, this
// many floats apart (padded like position_stride).
int64_t filter_stride(const ConvShape& s) { return s.o * s.c + 16; }

constexpr int64_t kFilterBlock = 256;  // filters per pass of the filter transforms

// W^[xi][oc][ch] = (G g G^T)[xi] for every filter g = weight[oc][ch], a block of filters at a time.
void transform_weights(float* wt, const float* weight, const ConvShape& s) {
  const int64_t pairs = s.o * s.c, ws = filter_stride(s), blocks = (pairs + kFilterBlock - 1) / kFilterBlock;
#pragma omp for schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t p0 = blk * kFilterBlock, n = std::min(kFilterBlock, pairs - p0);
    float buf[12 * kFilterBlock];  // G g: [4][3][filter]
    float* t = buf;
    const float* gp = weight + p0 * 9;
    float* dst = wt + p0;
    for (int j = 0; j < 3; ++j)
      for (int64_t q = 0; q < n; ++q)
        G()([=](int i) { return gp[q * 9 + i * 3 + j]; }, [=](int i, float x) { t[(i * 3 + j) * kFilterBlock + q] = x; });
    for (int i = 0; i < 4; ++i)
      for (int64_t q = 0; q < n; ++q)
        G()([=](int j) { return t[(i * 3 + j) * kFilterBlock + q]; }, [=](int j, float x) { dst[(4 * i + j) * ws + q] = x; });
  }
}

// plane (rows x cols) = zeros with src (src_rows x src_cols) copied in at (offset, offset), clipped.
void pad_plane(float* plane, int64_t rows, int64_t cols, const float* src, int64_t src_rows, int64_t src_cols,
               int64_t offset) {
  std::fill(plane, plane + rows * cols, 0.f);
  const int64_t n = std::min(src_cols, cols - offset);
  for (int64_t r = 0; r < src_rows && r + offset < rows; ++r)
    std::copy(src + r * src_cols, src + r * src_cols + n, plane + (r + offset) * cols + offset);
}

// dst (rows x cols) = the block of plane (its rows plane_cols floats long) at (offset, offset).
void crop_plane(float* dst, int64_t rows, int64_t cols, const float* plane, int64_t plane_cols, int64_t offset) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = plane + (r + offset) * plane_cols + offset;
    std::copy(src, src + cols, dst + r * cols);
  }
}

// One tile row's transforms, with the tiles' index tx innermost. Input side: the 4 x cols block
// `rows` (row stride pc) whose column 2 tx + j holds element j of tile tx's patch rows. dst gets element
// (i, j) of tile tx's L block L^T at dst[(4 i + j) * stride + tx]; t is scratch for 4 * pc floats.
template <int In, typename F>
void rows_to_positions(float* dst, int64_t stride, const float* rows, int64_t pc, int64_t tw, float* t, F f) {
  for (int64_t q = 0; q < 2 * tw + In - 2; ++q)  // L down the columns of the block
    f([=](int i) { return rows[i * pc + q]; }, [=](int i, float x) { t[i * pc + q] = x; });
  for (int i = 0; i < 4; ++i)
    for (int64_t tx = 0; tx < tw; ++tx)  // then along each tile's row
      f([=](int j) { return t[i * pc + 2 * tx + j]; }, [=](int j, float x) { dst[(4 * i + j) * stride + tx] = x; });
}

// The way back: element (i, j) of tile tx's 4x4 block is src[(4 i + j) * stride + tx]; L block L^T
// (Out x Out) is handed to put(i, j, tx, value). t is scratch for 4 * Out * tw floats.
template <int Out, typename F, typename Put>
void positions_to_rows(const float* src, int64_t stride, int64_t tw, float* t, F f, Put put) {
  for (int j = 0; j < 4; ++j)
    for (int64_t tx = 0; tx < tw; ++tx)  // L down each tile's columns
      f([=](int i) { return src[(4 * i + j) * stride + tx]; }, [=](int i, float x) { t[(i * 4 + j) * tw + tx] = x; });
  for (int i = 0; i < Out; ++i)
    for (int64_t tx = 0; tx < tw; ++tx)  // then along its rows
      f([=](int j) { return t[(i * 4 + j) * tw + tx]; }, [=](int j, float x) { put(i, j, tx, x); });
}

// u[xi][ch][column] = (B^T d B)[xi] for the patch d of every tile of the chunk's images.
void transform_input(float* u, const Scratch& w, const float* x, const Chunk& k, const ConvShape& s) {
  const Tiles t = tiles_of(s);
  const int64_t stride = position_stride(s.c, k), pc = t.patch_cols();
  for (int64_t bi = 0; bi < k.images; ++bi)
    for (int64_t ch = 0; ch < s.c; ++ch) {
      pad_plane(w.plane, t.patch_rows(), pc, x + ((k.first + bi) * s.c + ch) * s.h * s.w, s.h, s.w, s.padding);
      float* dst = u + ch * k.ld + bi * t.per_image();
      for (int64_t ty = 0; ty < t.th; ++ty)
        rows_to_positions<4>(dst + ty * t.tw, stride, w.plane + 2 * ty * pc, pc, t.tw, w.rows, Bt());
    }
}

// y of every tile = A^T m A (+ bias), from the chunk's m[xi][oc][column].
void transform_output(float* y, const Scratch& w, const float* m, const float* bias, const Chunk& k,
                      const ConvShape& s) {
  const Tiles t = tiles_of(s);
  const int64_t stride = position_stride(s.o, k), pc = 2 * t.tw;
  for (int64_t bi = 0; bi < k.images; ++bi)
    for (int64_t oc = 0; oc < s.o; ++oc) {
      const float* src = m + oc * k.ld + bi * t.per_image();
      const float add = bias ? bias[oc] : 0.f;
      for (int64_t ty = 0; ty < t.th; ++ty) {
        float* rows = w.plane + 2 * ty * pc;
        positions_to_rows<2>(src + ty * t.tw, stride, t.tw, w.rows, At(),
                             [=](int i, int j, int64_t tx, float v) { rows[i * pc + 2 * tx + j] = v + add; });
      }
      crop_plane(y + ((k.first + bi) * s.o + oc) * s.oh * s.ow, s.oh, s.ow, w.plane, pc, 0);
    }
}

// v[xi][oc][column] = (A dY A^T)[xi] for each tile's 2x2 output gradient (zeros past the edges).
void transform_output_gradient(float* v, const Scratch& w, const float* dy, const Chunk& k, const ConvShape& s) {
  const Tiles t = tiles_of(s);
  const int64_t stride = position_stride(s.o, k), pc = 2 * t.tw;
  for (int64_t bi = 0; bi < k.images; ++bi)
    for (int64_t oc = 0; oc < s.o; ++oc) {
      pad_plane(w.plane, 2 * t.th, pc, dy + ((k.first + bi) * s.o + oc) * s.oh * s.ow, s.oh, s.ow, 0);
      float* dst = v + oc * k.ld + bi * t.per_image();
      for (int64_t ty = 0; ty < t.th; ++ty)
        rows_to_positions<2>(dst + ty * t.tw, stride, w.plane + 2 * ty * pc, pc, t.tw, w.rows, A());
    }
}

// dx of the chunk's images = the sum over tiles of B du B^T added onto each tile's patch. Patches of
// neighbouring tiles overlap by two rows and two columns; the tile rows go one after the other, and
// within a row the two overlapping columns are added after the rest.
void scatter_input_gradient(float* dx, const Scratch& w, const float* du, const Chunk& k, const ConvShape& s) {
  const Tiles t = tiles_of(s);
  const int64_t stride = position_stride(s.c, k), pc = t.patch_cols();
  for (int64_t bi = 0; bi < k.images; ++bi)
    for (int64_t ch = 0; ch < s.c; ++ch) {
      std::fill(w.plane, w.plane + t.patch_rows() * pc, 0.f);
      const float* src = du + ch * k.ld + bi * t.per_image();
      for (int64_t ty = 0; ty < t.th; ++ty) {
        float* rows = w.plane + 2 * ty * pc;
        float* overlap = w.rows + 16 * t.tw;  // columns 2 and 3 of each tile: [4][2][tw] (see Scratch)
        positions_to_rows<4>(src + ty * t.tw, stride, t.tw, w.rows, B(), [=](int i, int j, int64_t tx, float v) {
          if (j < 2) rows[i * pc + 2 * tx + j] += v;
          else overlap[(i * 2 + j - 2) * t.tw + tx] = v;
        });
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 2; ++j)
            for (int64_t tx = 0; tx < t.tw; ++tx) rows[i * pc + 2 * tx + 2 + j] += overlap[(i * 2 + j) * t.tw + tx];
      }
      crop_plane(dx + ((k.first + bi) * s.c + ch) * s.h * s.w, s.h, s.w, w.plane, pc, s.padding);
    }
}

// dweight[oc][ch] = G^T dW^[.][oc][ch] G from the summed transform-domain gradient z [16][o][c].
void finish_weight_gradient(float* dweight, const float* z, const ConvShape& s) {
  const int64_t pairs = s.o * s.c, zs = filter_stride(s), blocks = (pairs + kFilterBlock - 1) / kFilterBlock;
#pragma omp parallel for schedule(static) if (pairs > 4096)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t p0 = blk * kFilterBlock, n = std::min(kFilterBlock, pairs - p0);
    float buf[12 * kFilterBlock];  // G^T z: [3][4][filter]
    float* t = buf;
    const float* src = z + p0;
    float* dst = dweight + p0 * 9;
    for (int j = 0; j < 4; ++j)
      for (int64_t q = 0; q < n; ++q)
        Gt()([=](int i) { return src[(4 * i + j) * zs + q]; }, [=](int i, float x) { t[(i * 4 + j) * kFilterBlock + q] = x; });
    for (int i = 0; i < 3; ++i)
      for (int64_t q = 0; q < n; ++q)
        Gt()([=](int j) { return t[(i * 4 + j) * kFilterBlock + q]; }, [=](int j, float x) { dst[q * 9 + i * 3 + j] = x; });
  }
}

Chunking chunking(const ConvShape& s, int threads) {
  return conv_chunks::chunking(s.n, tiles_of(s).per_image(), threads);
}

Chunk chunk_at(int64_t index, const Chunking& c, const ConvShape& s) {
  return conv_chunks::chunk_at(index, c, s.n, tiles_of(s).per_image());
}

Scratch thread_scratch_for(const Chunking& c, const ConvShape& s) {
  const Chunk full{0, c.images, c.images * tiles_of(s).per_image()};
  const int64_t u = kPositions * position_stride(s.c, full), m = kPositions * position_stride(s.o, full);
  const Tiles t = tiles_of(s);
  const int64_t plane = t.patch_rows() * t.patch_cols();
  float* base = thread_scratch(static_cast<size_t>(u + m + plane + kRowBuffers * t.patch_cols()));
  return {base, base + u, base + u + m, base + u + m + plane};
}

}  // namespace

bool winograd_fits(const ConvShape& s) {
  if (s.kh != 3 || s.kw != 3 || s.stride != 1 || s.groups != 1 || s.padding > 2) return false;
  // Measured on 2 cores (bench/results/cpu-2026-12-03.md): the transforms cost about as much as the
  // GEMMs save unless each transformed element feeds many channels (128 or more) or, at 64, long rows
  // of tiles; and odd small maps waste too much of their last tile row and column.
  const Tiles t = tiles_of(s);
  const int64_t channels = std::min(s.c, s.o);
  const bool enough_work = channels >= 128 || (channels >= 64 && t.tw >= 16);
  return enough_work && 4 * t.per_image() * 4 <= 5 * s.oh * s.ow;
}

void winograd_forward(float* y, const float* x, const float* weight, const float* bias, const ConvShape& s) {
  std::vector<float> wt(static_cast<size_t>(kPositions * filter_stride(s)));
  const int threads = thread_count(s);
  const Chunking chunks = chunking(s, threads);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    transform_weights(wt.data(), weight, s);  // ends in the barrier of its omp for
    const Scratch w = thread_scratch_for(chunks, s);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks.count; ++c) {
      const Chunk k = chunk_at(c, chunks, s);
      const int64_t us = position_stride(s.c, k), ms = position_stride(s.o, k);
      transform_input(w.u, w, x, k, s);
      for (int64_t xi = 0; xi < kPositions; ++xi)
        mat(w.m + xi * ms, s.o, k.ld).noalias() =
            mat(wt.data() + xi * filter_stride(s), s.o, s.c) * mat(w.u + xi * us, s.c, k.ld);
      transform_output(y, w, w.m, bias, k, s);
    }
  }
}

void winograd_backward(float* dx, float* dweight, const float* dy, const float* x, const float* weight,
                       const ConvShape& s) {
  if (!dx && !dweight) return;
  const int64_t zsize = kPositions * filter_stride(s);
  std::vector<float> wt(dx ? static_cast<size_t>(zsize) : 0);
  const int threads = thread_count(s);
  const Chunking chunks = chunking(s, threads);
  std::vector<float> partials(dweight ? static_cast<size_t>(threads * zsize) : 0, 0.f);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    if (dx) transform_weights(wt.data(), weight, s);
    const Scratch w = thread_scratch_for(chunks, s);
    float* z = dweight ? partials.data() + omp_get_thread_num() * zsize : nullptr;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks.count; ++c) {
      const Chunk k = chunk_at(c, chunks, s);
      const int64_t us = position_stride(s.c, k), vs = position_stride(s.o, k);
      if (dweight) transform_input(w.u, w, x, k, s);
      transform_output_gradient(w.m, w, dy, k, s);
      for (int64_t xi = 0; xi < kPositions; ++xi) {
        ConstMatMap vx = mat(static_cast<const float*>(w.m + xi * vs), s.o, k.ld);
        MatMap ux = mat(w.u + xi * us, s.c, k.ld);
        if (dweight) mat(z + xi * filter_stride(s), s.o, s.c).noalias() += vx * ux.transpose();
        if (dx) ux.noalias() = mat(wt.data() + xi * filter_stride(s), s.o, s.c).transpose() * vx;  // du replaces u
      }
      if (dx) scatter_input_gradient(dx, w, w.u, k, s);
    }
  }
  if (!dweight) return;
  std::vector<float> zsum(static_cast<size_t>(zsize));
  conv_chunks::sum_partials(zsum.data(), partials, threads, zsize);
  finish_weight_gradient(dweight, zsum.data(), s);
}

}  // namespace mx::kernels
