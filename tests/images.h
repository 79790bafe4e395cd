// Test images shared by the image-translation tests: the aligned (pix2pix) file of two halves.
#pragma once
#include "datasets/image_folder.h"

namespace mx::test {

// The aligned file of two halves side by side.
inline data::Image side_by_side(const data::Image& left, const data::Image& right) {
  data::Image out{left.width + right.width, left.height, left.channels, {}};
  const size_t lrow = static_cast<size_t>(left.width) * left.channels,
               rrow = static_cast<size_t>(right.width) * right.channels;
  for (int y = 0; y < left.height; ++y) {
    out.pixels.insert(out.pixels.end(), left.pixels.begin() + y * lrow, left.pixels.begin() + (y + 1) * lrow);
    out.pixels.insert(out.pixels.end(), right.pixels.begin() + y * rrow, right.pixels.begin() + (y + 1) * rrow);
  }
  return out;
}

}  // namespace mx::test
