// ParameterStore: re-points each parameter's TensorImpl into one flat buffer and its gradient into a
// second one, so autograd accumulates straight into the flat gradient buffer; the F32 buffers go into a
// third.
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

// Lays `tensors` out in one zeroed F32 buffer on `dev`, each from a kAlignment boundary (at `offsets`
// when given), copies their values in and makes each a view of its slot.
Tensor pack(nn::NamedTensors& tensors, Device dev, std::vector<int64_t>* offsets) {
  std::vector<int64_t> starts;
  int64_t total = 0;
  for (const auto& [name, t] : tensors) {
    starts.push_back(total);
    total = align_up(total + t.numel());
  }
  Tensor flat = Tensor::zeros({total}, DType::F32, dev);
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor& t = tensors[i].second;
    Tensor slot = flat.slice(starts[i], starts[i] + t.numel()).view(t.shape());
    slot.copy_from(t);
    repoint(t, slot);
  }
  if (offsets) *offsets = std::move(starts);
  return flat;
}

}  // namespace

ParameterStore::ParameterStore(nn::Module& model, Device dev) : named_(model.named_parameters()) {
  for (const auto& [name, p] : named_) check_dtype(p, DType::F32, "ParameterStore", name.c_str());
  params_ = pack(named_, dev, &offsets_);
  grads_ = Tensor::zeros({params_.numel()}, DType::F32, dev);
  for (size_t i = 0; i < named_.size(); ++i) {
    Tensor& p = named_[i].second;
    p.set_grad(grads_.slice(offsets_[i], offsets_[i] + p.numel()).view(p.shape()));
  }
  nn::NamedTensors f32_buffers;
  for (const auto& named : model.named_buffers())
    if (named.second.dtype() == DType::F32) f32_buffers.push_back(named);
  buffers_ = pack(f32_buffers, dev, nullptr);
}

int64_t ParameterStore::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, p] : named_) n += p.numel();
  return n;
}

void ParameterStore::zero_grad() { grads_.zero(); }

}  // namespace mx
