// Front-end of the batch metrics kernel: checks shapes and devices, then one launch on the logits' device.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/batch_scores.h"

namespace mx::ops {

void batch_scores(Tensor& row, const Tensor& loss, const Tensor& logits, const Tensor& ya, const Tensor& yb,
                  const Tensor& lam) {
  const char* op = "batch_scores";
  check_dtype(logits, DType::F32, op, "logits");
  check_dim(logits, 2, op, "logits");
  const int64_t n = logits.size(0), k = logits.size(1);
  check_dtype(row, DType::F32, op, "row");
  MX_CHECK(row.numel() == kernels::kScoreColumns, op, ": row must hold ", kernels::kScoreColumns, " values");
  check_dtype(loss, DType::F32, op, "loss");
  MX_CHECK(loss.numel() == 1, op, ": loss must hold one value");
  check_dtype(ya, DType::I32, op, "ya");
  check_dtype(yb, DType::I32, op, "yb");
  check_dtype(lam, DType::F32, op, "lam");
  for (const Tensor* t : {&ya, &yb, &lam})
    MX_CHECK(t->shape() == Shape{n}, op, ": labels and weights must have shape [", n, "]");
  for (const Tensor* t : {static_cast<const Tensor*>(&row), &loss, &ya, &yb, &lam}) check_same_device(logits, *t, op);
  MX_DISPATCH(logits.device(), batch_scores, row.data<float>(), loss.data<float>(), logits.data<float>(),
              ya.data<int32_t>(), yb.data<int32_t>(), lam.data<float>(), n, k);
}

}  // namespace mx::ops
