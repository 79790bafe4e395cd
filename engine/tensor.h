// Tensor: a typed, shaped, contiguous view into reference-counted device storage, plus autograd state.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"

namespace mx {

enum class DType : uint8_t { F32, I32, I64, U8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// Raw bytes on one device, freed when the last tensor viewing them goes away.
struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  Storage(size_t nbytes, Device dev);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device dev = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device dev = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device dev = Device::CPU);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape, Device dev = Device::CPU);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t axis) const;  // negative axis counts from the end
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  DType dtype() const;
  Device device() const;

  void* raw();
  const void* raw() const;
  template <typename T> T* data();
  template <typename T> const T* data() const;
  template <typename T> T item() const;  // the single element of a one-element CPU tensor
  template <typename T> std::vector<T> to_vector() const;

  // Views sharing storage (no autograd edge): rows [begin, end) of axis 0, and a new shape.
  Tensor slice(int64_t begin, int64_t end) const;
  Tensor view(const Shape& shape) const;
  Tensor detach() const;  // same storage, no grad_fn, no requires_grad
  Tensor clone() const;   // deep copy, no autograd
  Tensor to(Device dev) const;        // this tensor itself when it already lives on `dev`, else a copy
  void copy_from(const Tensor& src);  // same numel and dtype, any device
  void fill(float value);             // F32 only
  void zero();

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on);
  Tensor grad() const;            // undefined until a backward pass produces one
  void set_grad(const Tensor& g);  // used by the parameter store to point grads into one buffer
  const std::shared_ptr<Node>& grad_fn() const;
  void backward() const;  // this must be a one-element F32 tensor

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes into storage
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

// Checks used by op front-ends; each names the op so the message says who complained.
void check_dtype(const Tensor& t, DType want, const char* op, const char* arg);
void check_dim(const Tensor& t, int64_t want, const char* op, const char* arg);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_same_shape(const Tensor& a, const Tensor& b, const char* op);

}  // namespace mx
