// Tensor construction, views, copies and the shape/dtype checks shared by every op.
#include "engine/tensor.h"

#include <cstring>

#include "engine/autograd.h"
#include "engine/memory.h"

namespace mx {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

Storage::Storage(size_t nbytes, Device dev) : bytes(nbytes), device(dev) {
  ptr = device_alloc(nbytes, dev);
}

Storage::~Storage() { device_free(ptr, bytes, device); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device dev) {
  for (int64_t d : shape) MX_CHECK(d >= 0, "tensor shape ", shape_str(shape), " has a negative size");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), dev);
  return Tensor(impl);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device dev) {
  Tensor t = empty(shape, DType::F32, Device::CPU);
  t.fill(value);
  return t.to(dev);
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& shape, Device dev) {
  MX_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "from_vector: ", v.size(),
           " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), dev);
  device_copy(t.raw(), dev, v.data(), Device::CPU, v.size() * sizeof(T));
  return t;
}

const Shape& Tensor::shape() const { return impl_->shape; }
DType Tensor::dtype() const { return impl_->dtype; }
Device Tensor::device() const { return impl_->storage->device; }
int64_t Tensor::numel() const { return shape_numel(impl_->shape); }

int64_t Tensor::size(int64_t axis) const {
  int64_t d = dim();
  if (axis < 0) axis += d;
  MX_CHECK(axis >= 0 && axis < d, "axis ", axis, " out of range for shape ", shape_str(shape()));
  return impl_->shape[static_cast<size_t>(axis)];
}

void* Tensor::raw() { return static_cast<char*>(impl_->storage->ptr) + impl_->offset; }
const void* Tensor::raw() const { return static_cast<const char*>(impl_->storage->ptr) + impl_->offset; }

template <typename T>
T* Tensor::data() {
  MX_CHECK(dtype() == dtype_of<T>(), "tensor holds ", dtype_name(dtype()), ", accessed as ",
           dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw());
}

template <typename T>
const T* Tensor::data() const {
  MX_CHECK(dtype() == dtype_of<T>(), "tensor holds ", dtype_name(dtype()), ", accessed as ",
           dtype_name(dtype_of<T>()));
  return static_cast<const T*>(raw());
}

template <typename T>
T Tensor::item() const {
  MX_CHECK(numel() == 1, "item() needs one element, tensor has shape ", shape_str(shape()));
  T v{};
  device_copy(&v, Device::CPU, data<T>(), device(), sizeof(T));
  return v;
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> v(static_cast<size_t>(numel()));
  device_copy(v.data(), Device::CPU, data<T>(), device(), v.size() * sizeof(T));
  return v;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  MX_CHECK(dim() >= 1 && begin >= 0 && begin <= end && end <= size(0), "slice [", begin, ",", end,
           ") out of range for shape ", shape_str(shape()));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->dtype = impl_->dtype;
  impl->shape = impl_->shape;
  impl->shape[0] = end - begin;
  int64_t row = dim() ? shape_numel(impl_->shape) / std::max<int64_t>(impl_->shape[0], 1) : 1;
  impl->offset = impl_->offset + static_cast<size_t>(begin * row) * dtype_size(impl_->dtype);
  return Tensor(impl);
}

Tensor Tensor::view(const Shape& shape) const {
  MX_CHECK(shape_numel(shape) == numel(), "cannot view shape ", shape_str(this->shape()), " as ",
           shape_str(shape));
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->shape = shape;
  impl->requires_grad = false;
  impl->grad = Tensor();
  impl->grad_fn = nullptr;
  return Tensor(impl);
}

Tensor Tensor::detach() const { return view(shape()); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  Tensor out = empty(shape(), dtype(), dev);
  out.copy_from(*this);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  MX_CHECK(src.numel() == numel() && src.dtype() == dtype(), "copy_from: ", shape_str(src.shape()), " ",
           dtype_name(src.dtype()), " into ", shape_str(shape()), " ", dtype_name(dtype()));
  device_copy(raw(), device(), src.raw(), src.device(), nbytes());
}

void Tensor::fill(float value) {
  MX_CHECK(dtype() == DType::F32, "fill needs an F32 tensor");
  if (device() == Device::CPU) {
    float* p = data<float>();
    for (int64_t i = 0; i < numel(); ++i) p[i] = value;
  } else {
    copy_from(full(shape(), value, Device::CPU));
  }
}

void Tensor::zero() { device_memset_zero(raw(), device(), nbytes()); }

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad; }
void Tensor::set_grad(const Tensor& g) { impl_->grad = g; }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }

void Tensor::backward() const {
  MX_CHECK(numel() == 1 && dtype() == DType::F32, "backward() needs a one-element F32 loss, got ",
           shape_str(shape()));
  run_backward(*this, Tensor::full(shape(), 1.0f, device()));
}

void check_dtype(const Tensor& t, DType want, const char* op, const char* arg) {
  MX_CHECK(t.defined(), op, ": ", arg, " is undefined");
  MX_CHECK(t.dtype() == want, op, ": ", arg, " must be ", dtype_name(want), ", got ", dtype_name(t.dtype()));
}

void check_dim(const Tensor& t, int64_t want, const char* op, const char* arg) {
  MX_CHECK(t.dim() == want, op, ": ", arg, " must have ", want, " dimensions, got shape ",
           shape_str(t.shape()));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  MX_CHECK(a.device() == b.device(), op, ": tensors on ", device_name(a.device()), " and ",
           device_name(b.device()));
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  MX_CHECK(a.shape() == b.shape(), op, ": shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " differ");
}

#define MX_TENSOR_INSTANTIATE(T)                                                        \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device); \
  template T* Tensor::data<T>();                                                         \
  template const T* Tensor::data<T>() const;                                             \
  template T Tensor::item<T>() const;                                                    \
  template std::vector<T> Tensor::to_vector<T>() const;
MX_TENSOR_INSTANTIATE(float)
MX_TENSOR_INSTANTIATE(int32_t)
MX_TENSOR_INSTANTIATE(int64_t)
MX_TENSOR_INSTANTIATE(uint8_t)
#undef MX_TENSOR_INSTANTIATE

}  // namespace mx
