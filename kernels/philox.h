// Philox4x32-10 counter-based generator (Salmon et al., SC'11) and the float draws built on it.
// Every function is usable on the host and on the device, and every float step is either a single
// correctly rounded IEEE operation or an explicit fmaf (no a * b + c left for a compiler to contract),
// so CPU and GPU draw bit-identical numbers as long as neither side is built with fast-math.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/host_device.h"

namespace mx::kernels {

struct Philox4 {
  uint32_t v[4];
};

namespace philox_detail {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;    // round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // key schedule increments

MX_HD inline void mul_hi_lo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}
}  // namespace philox_detail

// The raw bijection: ten rounds over a 128-bit counter under a 64-bit key.
MX_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t key0, uint32_t key1) {
  using namespace philox_detail;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mul_hi_lo(kMul0, ctr.v[0], hi0, lo0);
    mul_hi_lo(kMul1, ctr.v[2], hi1, lo1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
  }
  return ctr;
}

// Four random words for (seed, counter); `stream` fills the upper counter half (e.g. a tensor id).
MX_HD inline Philox4 philox(uint64_t seed, uint64_t counter, uint64_t stream = 0) {
  Philox4 ctr{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
               static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}};
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [0, 1) on the 2^-24 grid (exact in float).
MX_HD inline float uniform01(uint32_t u) { return static_cast<float>(u >> 8) * 0x1p-24f; }

namespace philox_detail {
// Natural log of u in (0, 1]: u = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
// log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, series to s^11 (error < 1e-9).
MX_HD inline float log_unit(float u) {
  uint32_t bits;
  memcpy(&bits, &u, sizeof bits);
  int e = static_cast<int>((bits >> 23) & 0xFFu) - 127;
  bits = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  float m;
  memcpy(&m, &bits, sizeof m);
  if (m > 1.41421356f) {
    m *= 0.5f;  // exact
    ++e;
  }
  float s = (m - 1.f) / (m + 1.f);
  float s2 = s * s;
  float p = fmaf(s2, 1.f / 11.f, 1.f / 9.f);
  p = fmaf(s2, p, 1.f / 7.f);
  p = fmaf(s2, p, 1.f / 5.f);
  p = fmaf(s2, p, 1.f / 3.f);
  p = fmaf(s2, p, 1.f);
  float log_m = 2.f * s * p;
  return fmaf(static_cast<float>(e), 0.693147180559945f, log_m);
}

// sin and cos of 2*pi*u for u in [0, 1): the quadrant q = round(4u) leaves x = (4u - q) * pi/2 in
// [-pi/4, pi/4], where Taylor series to x^9 / x^10 are accurate to about 2e-9.
MX_HD inline void sincos_turn(float u, float& s, float& c) {
  float t = 4.f * u;  // exact
  float q = floorf(t + 0.5f);
  float x = (t - q) * 1.57079632679490f;
  float x2 = x * x;
  float sp = fmaf(x2, 1.f / 362880.f, -1.f / 5040.f);
  sp = fmaf(x2, sp, 1.f / 120.f);
  sp = fmaf(x2, sp, -1.f / 6.f);
  float sin_x = fmaf(x * x2, sp, x);
  float cp = fmaf(x2, -1.f / 3628800.f, 1.f / 40320.f);
  cp = fmaf(x2, cp, -1.f / 720.f);
  cp = fmaf(x2, cp, 1.f / 24.f);
  cp = fmaf(x2, cp, -0.5f);
  float cos_x = fmaf(x2, cp, 1.f);
  switch (static_cast<int>(q) & 3) {
    case 0: s = sin_x; c = cos_x; break;
    case 1: s = cos_x; c = -sin_x; break;
    case 2: s = -sin_x; c = -cos_x; break;
    default: s = -cos_x; c = sin_x; break;
  }
}
}  // namespace philox_detail

// Two independent standard normals from two random words (Box-Muller).
MX_HD inline void normal_pair(uint32_t u0, uint32_t u1, float& z0, float& z1) {
  float radius_u = static_cast<float>((u0 >> 8) + 1u) * 0x1p-24f;  // (0, 1]: log never sees 0
  float r = sqrtf(-2.f * philox_detail::log_unit(radius_u));
  float s, c;
  philox_detail::sincos_turn(uniform01(u1), s, c);
  z0 = r * c;
  z1 = r * s;
}

}  // namespace mx::kernels
