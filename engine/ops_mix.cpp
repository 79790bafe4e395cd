// Front-end of the fused batch-mixing kernel (kernels/mix_batch.h): checks the plan against the batch,
// puts it where the images are, and launches once.
#include "engine/dispatch.h"
#include "engine/memory.h"
#include "engine/ops.h"

namespace mx::ops {

namespace {

void check_samples(const Tensor& images, const std::vector<kernels::MixSample>& samples) {
  MX_CHECK(static_cast<int64_t>(samples.size()) == images.size(0), "mix_batch: ", samples.size(),
           " plans for a batch of ", images.size(0));
  for (const auto& s : samples) {
    MX_CHECK(s.partner >= 0 && s.partner < images.size(0), "mix_batch: partner ", s.partner, " out of range");
    MX_CHECK(s.op != kernels::kPaste || (0 <= s.y0 && s.y0 <= s.y1 && s.y1 <= images.size(2) && 0 <= s.x0 &&
                                         s.x0 <= s.x1 && s.x1 <= images.size(3)),
             "mix_batch: paste box outside the image");
  }
}

}  // namespace

Tensor mix_batch(const Tensor& images, const std::vector<kernels::MixSample>& samples) {
  check_dtype(images, DType::F32, "mix_batch", "images");
  check_dim(images, 4, "mix_batch", "images");
  check_samples(images, samples);
  // The kernel reads the samples where the images are: on a GPU they travel there first (one copy).
  const Device dev = images.device();
  const kernels::MixSample* plan = samples.data();
  Tensor staged;
  if (dev != Device::CPU) {
    staged = bytes_on(dev, samples.data(), samples.size() * sizeof(kernels::MixSample));
    plan = static_cast<const kernels::MixSample*>(staged.raw());
  }
  Tensor out = Tensor::empty(images.shape(), DType::F32, dev);
  MX_DISPATCH(dev, mix_batch, out.data<float>(), images.data<float>(), plan, images.size(0), images.size(1),
              images.size(2), images.size(3));
  return out;
}

}  // namespace mx::ops
