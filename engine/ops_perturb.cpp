// Front-ends of the weight-perturbation kernels behind the loss landscape (kernels/perturb.h).
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/perturb.h"

namespace mx::ops {

namespace {

// t is F32 with the shape and device of `like`.
void check_like(const Tensor& t, const Tensor& like, const char* op, const char* arg) {
  check_dtype(t, DType::F32, op, arg);
  check_same_shape(t, like, op);
  check_same_device(t, like, op);
}

}  // namespace

void perturb_apply(Tensor& w, const Tensor& w0, const Tensor& d1, const Tensor& d2, float alpha, float beta) {
  const char* op = "perturb_apply";
  check_dtype(w, DType::F32, op, "w");
  check_like(w0, w, op, "w0");
  check_like(d1, w, op, "d1");
  check_like(d2, w, op, "d2");
  MX_DISPATCH(w.device(), perturb_apply, w.data<float>(), w0.data<float>(), d1.data<float>(), d2.data<float>(), alpha,
              beta, w.numel());
}

void noise_direction(Tensor& d, const Tensor& w, float mean, float std, uint64_t seed) {
  const char* op = "noise_direction";
  check_dtype(d, DType::F32, op, "d");
  check_like(w, d, op, "w");
  MX_DISPATCH(d.device(), noise_direction, d.data<float>(), w.data<float>(), mean, std, seed, d.numel());
}

}  // namespace mx::ops
