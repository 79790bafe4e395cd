// The geometry of a 2-D convolution, shared by the front-end and both backends.
#pragma once
#include <cstdint>

namespace mx {

// x [n, c, h, w], weight [o, c / groups, kh, kw], y [n, o, oh, ow].
struct ConvShape {
  int64_t n, c, h, w;
  int64_t o, kh, kw;
  int64_t oh, ow;
  int64_t stride, padding, groups;
};

}  // namespace mx
