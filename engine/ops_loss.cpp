// Front-end of the mixed-label cross-entropy: checks shapes (and, for host tensors, label ranges),
// then one fused kernel for the loss and one for the gradient of the logits. Labels on a GPU are not
// read back: the dataset readers validate every label once, and the CUDA kernel turns a label
// outside [0, k) into a NaN loss, which the trainer reports, instead of reading out of bounds.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cross_entropy.h"

namespace mx::ops {

namespace {

void check_labels(const Tensor& y, int64_t n, int64_t k, const char* arg) {
  const char* op = "mixed_cross_entropy";
  check_dtype(y, DType::I32, op, arg);
  MX_CHECK(y.shape() == Shape{n}, op, ": ", arg, " must have shape [", n, "], got ", shape_str(y.shape()));
  if (y.device() != Device::CPU) return;
  const int32_t* labels = y.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    MX_CHECK(labels[i] >= 0 && labels[i] < k, op, ": label ", labels[i], " in ", arg, " is outside [0, ", k, ")");
}

}  // namespace

Tensor mixed_cross_entropy(const Tensor& logits, const Tensor& ya, const Tensor& yb, const Tensor& lam) {
  const char* op = "mixed_cross_entropy";
  check_dtype(logits, DType::F32, op, "logits");
  check_dim(logits, 2, op, "logits");
  const int64_t n = logits.size(0), k = logits.size(1);
  MX_CHECK(n > 0 && k > 0, op, ": logits ", shape_str(logits.shape()), " is empty");
  check_labels(ya, n, k, "ya");
  check_labels(yb, n, k, "yb");
  check_dtype(lam, DType::F32, op, "lam");
  MX_CHECK(lam.shape() == Shape{n}, op, ": lam must have shape [", n, "], got ", shape_str(lam.shape()));
  for (const Tensor* t : {&ya, &yb, &lam}) check_same_device(logits, *t, op);
  Tensor loss = Tensor::empty({1}, DType::F32, logits.device());
  Tensor lse = Tensor::empty({n}, DType::F32, logits.device());
  MX_DISPATCH(logits.device(), mixed_cross_entropy_forward, loss.data<float>(), lse.data<float>(),
              logits.data<float>(), ya.data<int32_t>(), yb.data<int32_t>(), lam.data<float>(), n, k);
  if (needs_grad({&logits})) {
    Tensor ls = logits.detach(), yas = ya.detach(), ybs = yb.detach(), lams = lam.detach();
    record(loss, op, {logits}, [=](const Tensor& gloss) -> std::vector<Tensor> {
      Tensor g = Tensor::empty(ls.shape(), DType::F32, gloss.device());
      MX_DISPATCH(gloss.device(), mixed_cross_entropy_backward, g.data<float>(), gloss.data<float>(),
                  ls.data<float>(), lse.data<float>(), yas.data<int32_t>(), ybs.data<int32_t>(), lams.data<float>(),
                  n, k);
      return {g};
    });
  }
  return loss;
}

}  // namespace mx::ops
