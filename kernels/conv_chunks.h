// How the CPU convolutions (im2col in conv_cpu.cpp, Winograd in conv_winograd_cpu.cpp) share out a batch:
// chunks of whole images, enough of them per chunk to give each GEMM a few hundred columns, spread over
// OpenMP threads, each thread with a scratch buffer that only grows.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv.h"

namespace mx::kernels::conv_chunks {

// A per-thread scratch buffer that only grows, so steady-state training allocates nothing.
inline float* thread_scratch(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// Threads pay off above about a million multiply-adds; tiny convolutions (tests) stay serial.
inline int thread_count(const ConvShape& s) {
  const bool worth = s.n > 1 && s.n * s.o * s.oh * s.ow * (s.c / s.groups) * s.kh * s.kw > (1 << 20);
  return worth ? omp_get_max_threads() : 1;
}

// The batch is cut into chunks of `images` images (the last may hold fewer), `count` chunks in all.
struct Chunking {
  int64_t images, count;
};

// About this many GEMM columns per chunk: enough to pack the weight once for a few hundred columns, and
// no more images per chunk than give every thread a chunk.
constexpr int64_t kChunkColumns = 256;

inline Chunking chunking(int64_t batch, int64_t columns_per_image, int threads) {
  const int64_t per_thread = (batch + threads - 1) / threads;
  const int64_t images = std::clamp<int64_t>((kChunkColumns + columns_per_image - 1) / columns_per_image, 1, per_thread);
  return {images, (batch + images - 1) / images};
}

// Images [first, first + images) of the batch; their GEMMs have ld = images * columns_per_image columns.
struct Chunk {
  int64_t first, images, ld;
};

inline Chunk chunk_at(int64_t index, const Chunking& c, int64_t batch, int64_t columns_per_image) {
  const int64_t first = index * c.images, images = std::min(c.images, batch - first);
  return {first, images, images * columns_per_image};
}

// dst (size floats) += each per-thread partial in thread order, so the sum is deterministic for a given
// thread count; partials holds `threads` blocks of `size` floats and the first is copied, not added.
inline void sum_partials(float* dst, const std::vector<float>& partials, int threads, int64_t size) {
  std::copy(partials.begin(), partials.begin() + size, dst);
  for (int t = 1; t < threads; ++t) {
    const float* p = partials.data() + t * size;
#pragma omp parallel for simd schedule(static) if (size > 65536)
    for (int64_t i = 0; i < size; ++i) dst[i] += p[i];
  }
}

}  // namespace mx::kernels::conv_chunks
