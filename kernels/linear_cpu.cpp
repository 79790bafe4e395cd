// CPU linear layer on Eigen; Eigen parallelises these GEMMs itself with OpenMP.
#include "kernels/linear.h"

#include "kernels/eigen_maps.h"

namespace mx::kernels {

template <>
void linear_forward<Device::CPU>(float* y, const float* x, const float* weight, const float* bias, int64_t n,
                                 int64_t in, int64_t out) {
  MatMap ym = mat(y, n, out);
  ym.noalias() = mat(x, n, in) * mat(weight, out, in).transpose();
  if (bias) ym.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, out);
}

template <>
void linear_backward<Device::CPU>(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                  const float* weight, int64_t n, int64_t in, int64_t out) {
  ConstMatMap dym = mat(dy, n, out);
  if (dx) mat(dx, n, in).noalias() = dym * mat(weight, out, in);
  if (dweight) mat(dweight, out, in).noalias() = dym.transpose() * mat(x, n, in);
  if (dbias) Eigen::Map<Eigen::RowVectorXf>(dbias, out) = dym.colwise().sum();
}

}  // namespace mx::kernels
