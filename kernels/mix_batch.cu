// CUDA fused batch mixup: one launch for the whole batch. Block row y takes a sample (striding over
// the batch), threads take its elements. Every output element is written once and every input element
// is read only where it is used: a copied or pasted-over element reads one image, a blended one both.
// When the image size is a multiple of 4 floats and both buffers are 16-byte aligned, each thread
// moves 16-byte vectors: a vector that lies wholly inside or outside the pasted box is one 16-byte
// load, one that straddles the box edge reads each lane from its own source. Otherwise every thread
// moves single floats. Copies and pastes equal the CPU twin bit for bit; a blend agrees within a
// rounding, as either compiler may fuse its multiply-add.
#include "kernels/launch.cuh"
#include "kernels/mix_batch.h"
#include "kernels/mix_formulas.h"

namespace mx::kernels {

namespace {

struct ImageGeometry {
  int64_t image, plane, h, w;  // floats per image and per plane, plane height and width
};

// Whether element e of an image lies in the sample's box.
__device__ inline bool element_in_box(const MixSample& m, int64_t e, const ImageGeometry& g) {
  const int64_t p = e % g.plane;
  return in_box(m, p / g.w, p % g.w);
}

__global__ void mix_scalar_kernel(float* __restrict__ out, const float* __restrict__ x, const MixSample* s, int64_t n,
                                  ImageGeometry g) {
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const MixSample m = s[i];
    const float* a = x + i * g.image;
    const float* b = x + static_cast<int64_t>(m.partner) * g.image;
    float* o = out + i * g.image;
    for (int64_t e = thread_index(); e < g.image; e += grid_stride()) {
      if (m.op == kBlend) o[e] = blend(a[e], b[e], m.lam);
      else if (m.op == kPaste) o[e] = element_in_box(m, e, g) ? b[e] : a[e];
      else o[e] = a[e];
    }
  }
}

// The four lanes of vector v (elements 4v .. 4v+3 of the image): which lie in the box, as bits.
__device__ inline unsigned lanes_in_box(const MixSample& m, int64_t v, const ImageGeometry& g) {
  int64_t p = 4 * v % g.plane, y = p / g.w, x = p % g.w;
  unsigned bits = 0;
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    bits |= static_cast<unsigned>(in_box(m, y, x)) << l;
    if (++x == g.w) {  // the next lane starts a new row, or a new plane
      x = 0;
      if (++y == g.h) y = 0;
    }
  }
  return bits;
}

__device__ inline float4 paste4(const float4* a, const float4* b, int64_t v, const MixSample& m,
                                const ImageGeometry& g) {
  const unsigned bits = lanes_in_box(m, v, g);
  if (bits == 0) return a[v];
  if (bits == 0xF) return b[v];
  const float* af = reinterpret_cast<const float*>(a) + 4 * v;
  const float* bf = reinterpret_cast<const float*>(b) + 4 * v;
  return make_float4(bits & 1 ? bf[0] : af[0], bits & 2 ? bf[1] : af[1], bits & 4 ? bf[2] : af[2],
                     bits & 8 ? bf[3] : af[3]);
}

__global__ void mix_vec4_kernel(float4* __restrict__ out, const float4* __restrict__ x, const MixSample* s, int64_t n,
                                ImageGeometry g) {
  const int64_t vectors = g.image / 4;
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const MixSample m = s[i];
    const float4* a = x + i * vectors;
    const float4* b = x + static_cast<int64_t>(m.partner) * vectors;
    float4* o = out + i * vectors;
    for (int64_t v = thread_index(); v < vectors; v += grid_stride()) {
      if (m.op == kBlend) {
        const float4 p = a[v], q = b[v];
        o[v] = make_float4(blend(p.x, q.x, m.lam), blend(p.y, q.y, m.lam), blend(p.z, q.z, m.lam),
                           blend(p.w, q.w, m.lam));
      } else if (m.op == kPaste) {
        o[v] = paste4(a, b, v, m, g);
      } else {
        o[v] = a[v];
      }
    }
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

template <>
void mix_batch<Device::CUDA>(float* out, const float* x, const MixSample* s, int64_t n, int64_t c, int64_t h,
                             int64_t w) {
  const ImageGeometry g{c * h * w, h * w, h, w};
  if (n <= 0 || g.image <= 0) return;
  const bool vec4 = g.image % 4 == 0 && aligned16(out) && aligned16(x);
  const int64_t items = vec4 ? g.image / 4 : g.image;  // per sample
  // A block per sample when the image is small; threads rounded to whole warps.
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, (items + 31) / 32 * 32));
  const dim3 grid(grid_for(items, threads), static_cast<unsigned>(std::min<int64_t>(n, 65535)));
  cudaStream_t stream = ::mx::cuda::current_stream();
  if (vec4)
    mix_vec4_kernel<<<grid, threads, 0, stream>>>(reinterpret_cast<float4*>(out), reinterpret_cast<const float4*>(x),
                                                  s, n, g);
  else
    mix_scalar_kernel<<<grid, threads, 0, stream>>>(out, x, s, n, g);
  MX_CHECK_LAUNCH("mix_batch");
}

}  // namespace mx::kernels
