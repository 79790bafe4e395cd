// CUDA fused stored-image batch builder: one launch for the whole batch. Block row y takes a sample
// (striding over the batch), threads take its output elements, so the float writes are coalesced.
// Each thread reads the stored byte of its own image and, where the mix needs it, of its partner's,
// and looks both up in the normalization table (3 KiB for 3 channels, kept in L1 by the read-only
// path). Element coordinates come from 32-bit divisions (the front-end checks that an image has fewer
// than 2^31 elements). Copies and pastes equal the CPU twin bit for bit; a blend agrees within a
// rounding, as either compiler may fuse its multiply-add.
#include "kernels/augment_mix.h"
#include "kernels/launch.cuh"
#include "kernels/mix_formulas.h"

namespace mx::kernels {

namespace {

struct Geometry {
  uint32_t image, plane, w;  // elements per image and per plane, plane width
  int64_t h;
};

struct Pixel {
  int64_t ch, y, x;
};

__device__ inline Pixel pixel_of(uint32_t e, const Geometry& g) {
  const uint32_t ch = e / g.plane, p = e - ch * g.plane, y = p / g.w;
  return {ch, y, p - y * g.w};
}

// The normalized value of pixel q of the sample augmented as `a` says.
__device__ inline float stored_value(const uint8_t* images, const float* table, const AugmentSample& a, Pixel q,
                                     const Geometry& g) {
  const uint8_t* image = images + a.source * static_cast<int64_t>(g.image);
  return __ldg(table + q.ch * 256 + augmented_pixel(image, a, q.ch, q.y, q.x, g.h, g.w));
}

__global__ void augment_mix_kernel(float* __restrict__ out, const uint8_t* __restrict__ images,
                                   const float* __restrict__ table, const AugmentSample* a, const MixSample* s,
                                   int64_t n, Geometry g) {
  for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const MixSample m = s[i];
    const AugmentSample own = a[i], partner = a[m.partner];
    float* o = out + i * static_cast<int64_t>(g.image);
    for (int64_t e = thread_index(); e < g.image; e += grid_stride()) {
      const Pixel q = pixel_of(static_cast<uint32_t>(e), g);
      if (m.op == kBlend)
        o[e] = blend(stored_value(images, table, own, q, g), stored_value(images, table, partner, q, g), m.lam);
      else if (m.op == kPaste && in_box(m, q.y, q.x))
        o[e] = stored_value(images, table, partner, q, g);
      else
        o[e] = stored_value(images, table, own, q, g);
    }
  }
}

}  // namespace

template <>
void augment_mix<Device::CUDA>(float* out, const uint8_t* images, const float* table, const AugmentSample* a,
                               const MixSample* s, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t image = c * h * w;
  if (n <= 0 || image <= 0) return;
  const Geometry g{static_cast<uint32_t>(image), static_cast<uint32_t>(h * w), static_cast<uint32_t>(w), h};
  // A block per sample when the image is small; threads rounded to whole warps.
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, (image + 31) / 32 * 32));
  const dim3 grid(grid_for(image, threads), static_cast<unsigned>(std::min<int64_t>(n, 65535)));
  augment_mix_kernel<<<grid, threads, 0, ::mx::cuda::current_stream()>>>(out, images, table, a, s, n, g);
  MX_CHECK_LAUNCH("augment_mix");
}

}  // namespace mx::kernels
