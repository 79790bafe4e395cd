// Front-ends of the fused batch-mixing kernels (kernels/mix_batch.h, kernels/augment_mix.h): check the
// plan against the batch, put it where the images are, and launch once.
#include <cstring>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

#include "engine/dispatch.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/ops_common.h"

namespace mx::ops {

namespace {

// Partners inside a batch of n, paste boxes inside an h x w image.
void check_samples(const std::vector<kernels::MixSample>& samples, int64_t n, int64_t h, int64_t w, const char* op) {
  MX_CHECK(static_cast<int64_t>(samples.size()) == n, op, ": ", samples.size(), " plans for a batch of ", n);
  for (const auto& s : samples) {
    MX_CHECK(s.partner >= 0 && s.partner < n, op, ": partner ", s.partner, " out of range");
    MX_CHECK(s.op != kernels::kPaste || (0 <= s.y0 && s.y0 <= s.y1 && s.y1 <= h && 0 <= s.x0 && s.x0 <= s.x1 &&
                                         s.x1 <= w),
             op, ": paste box outside the image");
  }
}

// The arrays `parts` (pointer, bytes) where the kernel runs: on the host as they are, on a device
// copied there in one transfer, each at a 16-byte aligned offset.
class Staged {
 public:
  using Part = std::pair<const void*, size_t>;
  Staged(Device dev, std::initializer_list<Part> parts) : parts_(parts) {
    if (dev == Device::CPU) return;
    size_t end = 0;
    for (const Part& part : parts_) {
      offsets_.push_back((end + 15) / 16 * 16);
      end = offsets_.back() + part.second;
    }
    std::vector<unsigned char> packed(end);
    for (size_t k = 0; k < parts_.size(); ++k)
      if (parts_[k].second) std::memcpy(packed.data() + offsets_[k], parts_[k].first, parts_[k].second);
    device_ = bytes_on(dev, packed.data(), packed.size());
  }
  template <typename T>
  const T* part(size_t k) const {
    if (!device_.defined()) return static_cast<const T*>(parts_[k].first);
    return reinterpret_cast<const T*>(static_cast<const unsigned char*>(device_.raw()) + offsets_[k]);
  }

 private:
  std::vector<Part> parts_;
  std::vector<size_t> offsets_;  // on the device
  Tensor device_;
};

}  // namespace

Tensor mix_batch(const Tensor& images, const std::vector<kernels::MixSample>& samples) {
  check_dtype(images, DType::F32, "mix_batch", "images");
  check_dim(images, 4, "mix_batch", "images");
  check_samples(samples, images.size(0), images.size(2), images.size(3), "mix_batch");
  const Device dev = images.device();
  const Staged plan(dev, {{samples.data(), samples.size() * sizeof(kernels::MixSample)}});
  Tensor out = Tensor::empty(images.shape(), DType::F32, dev);
  MX_DISPATCH(dev, mix_batch, out.data<float>(), images.data<float>(), plan.part<kernels::MixSample>(0),
              images.size(0), images.size(1), images.size(2), images.size(3));
  return out;
}

Tensor augment_mix(const Tensor& stored, const Tensor& table, const std::vector<kernels::AugmentSample>& augment,
                   const std::vector<kernels::MixSample>& samples) {
  const char* op = "augment_mix";
  check_dtype(stored, DType::U8, op, "stored images");
  check_dim(stored, 4, op, "stored images");
  const int64_t count = stored.size(0), c = stored.size(1), h = stored.size(2), w = stored.size(3);
  detail::check_vector(table, c * 256, stored, op, "normalization table");
  MX_CHECK(c * h * w <= std::numeric_limits<int32_t>::max(), op, ": an image of ", c, "x", h, "x", w,
           " has 2^31 elements or more");
  const auto n = static_cast<int64_t>(augment.size());
  for (const auto& a : augment)
    MX_CHECK(a.source >= 0 && a.source < count, op, ": stored image ", a.source, " of ", count, " out of range");
  check_samples(samples, n, h, w, op);
  const Device dev = stored.device();
  const Staged plan(dev, {{augment.data(), augment.size() * sizeof(kernels::AugmentSample)},
                          {samples.data(), samples.size() * sizeof(kernels::MixSample)}});
  Tensor out = Tensor::empty({n, c, h, w}, DType::F32, dev);
  MX_DISPATCH(dev, augment_mix, out.data<float>(), stored.data<uint8_t>(), table.data<float>(),
              plan.part<kernels::AugmentSample>(0), plan.part<kernels::MixSample>(1), n, c, h, w);
  return out;
}

}  // namespace mx::ops
