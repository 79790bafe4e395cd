// Small helpers shared by the op front-ends (internal to engine/).
#pragma once
#include "engine/tensor.h"

namespace mx::ops::detail {

// The F32 data of an optional tensor, or null when it is undefined.
inline float* data_or_null(Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
inline const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// An F32 gradient buffer shaped like `like` when `wanted`, otherwise undefined.
inline Tensor grad_buffer(bool wanted, const Tensor& like) {
  return wanted ? Tensor::empty(like.shape(), DType::F32, like.device()) : Tensor();
}

// Checks that an optional per-channel tensor is F32 of shape [channels] on x's device.
inline void check_vector(const Tensor& t, int64_t channels, const Tensor& x, const char* op, const char* arg) {
  check_dtype(t, DType::F32, op, arg);
  MX_CHECK(t.shape() == Shape{channels}, op, ": ", arg, " must have shape [", channels, "], got ",
           shape_str(t.shape()));
  check_same_device(t, x, op);
}

}  // namespace mx::ops::detail
