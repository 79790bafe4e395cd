// The history buffer of generated images that CycleGAN's discriminators learn from (Shrivastava et al.;
// util/image_pool.py of junyanz/pytorch-CycleGAN-and-pix2pix): it keeps up to `capacity` earlier fakes,
// so a discriminator does not chase the generator's latest output alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace mx::gan {

class ImagePool {
 public:
  explicit ImagePool(int capacity);  // 0: query returns its input
  // For each image of `images` [N, C, H, W] (detached, any device): while the pool is not full it is
  // stored and returned; once full, with probability 1/2 a uniformly chosen stored image is returned and
  // replaced by it, else it is returned itself. The result has the input's shape and device.
  Tensor query(const Tensor& images, random::Rng& rng);
  int64_t size() const { return static_cast<int64_t>(stored_.size()); }

  // The stored images as one host tensor [size, C, H, W] (undefined when empty), and back: for resume.
  Tensor contents() const;
  void restore(const Tensor& contents, Device dev);  // throws when it holds more than the capacity

 private:
  int capacity_;
  std::vector<Tensor> stored_;  // [1, C, H, W] each, on the images' device
};

}  // namespace mx::gan
