// ImagePool (gan/image_pool.h): stored images are detached copies, swapped in and out one by one.
#include "gan/image_pool.h"

#include "engine/error.h"

namespace mx::gan {

ImagePool::ImagePool(int capacity) : capacity_(capacity) {
  MX_CHECK(capacity >= 0, "--pool-size: must be >= 0, got ", capacity);
}

Tensor ImagePool::query(const Tensor& images, random::Rng& rng) {
  if (capacity_ == 0) return images;
  Tensor out = Tensor::empty(images.shape(), DType::F32, images.device());
  for (int64_t i = 0; i < images.size(0); ++i) {
    Tensor image = images.slice(i, i + 1).clone();
    Tensor chosen = image;
    if (size() < capacity_) {
      stored_.push_back(image);
    } else if (random::uniform01(rng) < 0.5) {
      const auto slot = static_cast<size_t>(random::uniform_below(rng, stored_.size()));
      chosen = stored_[slot];
      stored_[slot] = image;
    }
    Tensor dst = out.slice(i, i + 1);
    dst.copy_from(chosen);
  }
  return out;
}

Tensor ImagePool::contents() const {
  if (stored_.empty()) return {};
  Shape shape = stored_[0].shape();
  shape[0] = size();
  Tensor all = Tensor::empty(shape, DType::F32, Device::CPU);
  for (int64_t i = 0; i < size(); ++i) {
    Tensor dst = all.slice(i, i + 1);
    dst.copy_from(stored_[static_cast<size_t>(i)]);
  }
  return all;
}

void ImagePool::restore(const Tensor& contents, Device dev) {
  stored_.clear();
  if (!contents.defined()) return;
  MX_CHECK(contents.size(0) <= capacity_, "image pool: the saved pool holds ", contents.size(0),
           " images, more than --pool-size ", capacity_);
  for (int64_t i = 0; i < contents.size(0); ++i) stored_.push_back(contents.slice(i, i + 1).to(dev).clone());
}

}  // namespace mx::gan
