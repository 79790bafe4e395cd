// Front-ends of the batch metrics and step guard kernels: check shapes and devices, then launch on the
// inputs' device.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/batch_scores.h"
#include "kernels/step_guard.h"

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

void step_guard(Tensor& record, const Tensor& grads, const Tensor& loss, bool loss_decides) {
  const char* op = "step_guard";
  check_dtype(record, DType::F32, op, "record");
  MX_CHECK(record.numel() == kernels::kGuardColumns, op, ": record must hold ", kernels::kGuardColumns, " values");
  check_dtype(grads, DType::F32, op, "grads");
  check_dtype(loss, DType::F32, op, "loss");
  MX_CHECK(loss.numel() == 1, op, ": loss must hold one value");
  check_same_device(grads, record, op);
  check_same_device(grads, loss, op);
  MX_DISPATCH(grads.device(), step_guard, record.data<float>(), grads.data<float>(), grads.numel(),
              loss.data<float>(), loss_decides);
}

void restore_flagged(Tensor& dst, const Tensor& saved, const Tensor& flag) {
  const char* op = "restore_flagged";
  for (const Tensor* t : {static_cast<const Tensor*>(&dst), &saved, &flag}) check_dtype(*t, DType::F32, op, "input");
  MX_CHECK(saved.shape() == dst.shape(), op, ": saved has shape ", shape_str(saved.shape()), ", dst ",
           shape_str(dst.shape()));
  MX_CHECK(flag.numel() == 1, op, ": flag must hold one value");
  check_same_device(dst, saved, op);
  check_same_device(dst, flag, op);
  MX_DISPATCH(dst.device(), restore_flagged, dst.data<float>(), saved.data<float>(), dst.numel(), flag.data<float>());
}

}  // namespace mx::ops
