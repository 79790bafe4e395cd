// Linear layers through cuBLAS SGEMM. cuBLAS is column-major and a row-major [r, c] buffer is the
// column-major [c, r] transpose, so each row-major product is issued as its transpose:
//   y = x W^T   ->  y^T  = W x^T      (W^T stored, op T; x^T stored, op N)
//   dx = dy W   ->  dx^T = W^T dy^T   (both stored, op N)
//   dW = dy^T x ->  dW^T = x^T dy     (x^T stored, op N; dy^T stored, op T)
// The bias add and the bias gradient (column sums of dy, in a fixed order) are small kernels.
#include "engine/cuda/check.h"
#include "engine/cuda/libraries.h"
#include "engine/cuda/runtime.h"
#include "kernels/launch.cuh"
#include "kernels/linear.h"

namespace mx::kernels {

namespace {

using cuda::kOne;
using cuda::kZero;

int to_int(int64_t v) { return cuda::library_int(v, "linear"); }

struct AddBias {
  float* y;
  const float* bias;
  int64_t out;
  __device__ void operator()(int64_t e) const { y[e] += bias[e % out]; }
};

struct ColumnSums {
  float* sums;
  const float* m;
  int64_t rows, cols;
  __device__ void operator()(int64_t j) const {
    float s = 0.f;
    for (int64_t i = 0; i < rows; ++i) s += m[i * cols + j];
    sums[j] = s;
  }
};

}  // namespace

template <>
void linear_forward<Device::CUDA>(float* y, const float* x, const float* weight, const float* bias, int64_t n,
                                  int64_t in, int64_t out) {
  cuda::ProfileScope scope("linear");
  CHECK_CUBLAS(cublasSgemm(cuda::cublas_handle(), CUBLAS_OP_T, CUBLAS_OP_N, to_int(out), to_int(n), to_int(in), &kOne,
                           weight, to_int(in), x, to_int(in), &kZero, y, to_int(out)));
  if (bias) for_each_index(n * out, AddBias{y, bias, out}, "linear_forward_bias");
  MX_CHECK_LAUNCH("linear_forward");
}

template <>
void linear_backward<Device::CUDA>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                   const float* weight, int64_t n, int64_t in, int64_t out) {
  cuda::ProfileScope scope("linear");
  cublasHandle_t h = cuda::cublas_handle();
  if (dx)
    CHECK_CUBLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, to_int(in), to_int(n), to_int(out), &kOne, weight,
                             to_int(in), dy, to_int(out), &kZero, dx, to_int(in)));
  if (dweight)
    CHECK_CUBLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, to_int(in), to_int(out), to_int(n), &kOne, x, to_int(in),
                             dy, to_int(out), &kZero, dweight, to_int(in)));
  if (dbias) for_each_index(out, ColumnSums{dbias, dy, n, out}, "linear_backward_bias");
  MX_CHECK_LAUNCH("linear_backward");
}

}  // namespace mx::kernels
