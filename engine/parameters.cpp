// ParameterStore: re-points each parameter's TensorImpl into one flat buffer and its gradient into a
// second one, so autograd accumulates straight into the flat gradient buffer.
#include "engine/parameters.h"

#include "engine/memory.h"

namespace mx {

namespace {

constexpr int64_t kAlignFloats = static_cast<int64_t>(kAlignment / sizeof(float));

int64_t align_up(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// Makes `t` a view of `target`'s storage (same shape and dtype), keeping its autograd identity.
void repoint(Tensor& t, const Tensor& target) {
  t.impl()->storage = target.impl()->storage;
  t.impl()->offset = target.impl()->offset;
}

}  // namespace

ParameterStore::ParameterStore(nn::Module& model, Device dev) : named_(model.named_parameters()) {
  int64_t total = 0;
  for (const auto& [name, p] : named_) {
    check_dtype(p, DType::F32, "ParameterStore", name.c_str());
    offsets_.push_back(total);
    total = align_up(total + p.numel());
  }
  params_ = Tensor::zeros({total}, DType::F32, dev);
  grads_ = Tensor::zeros({total}, DType::F32, dev);
  for (size_t i = 0; i < named_.size(); ++i) {
    Tensor& p = named_[i].second;
    int64_t n = p.numel();
    Tensor slot = params_.slice(offsets_[i], offsets_[i] + n).view(p.shape());
    slot.copy_from(p);
    repoint(p, slot);
    p.set_grad(grads_.slice(offsets_[i], offsets_[i] + n).view(p.shape()));
  }
  for (auto& [name, b] : model.named_buffers()) {
    if (b.dtype() == DType::F32 && b.device() != dev) repoint(b, b.to(dev));
  }
}

int64_t ParameterStore::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : named_) n += p.numel();
  return n;
}

void ParameterStore::zero_grad() { grads_.zero(); }

}  // namespace mx
