// The step guard's device rows and the host's reading of them: counting, notices and the stop.
#include "train/step_guard.h"

#include "engine/error.h"
#include "engine/ops.h"
#include "kernels/step_guard.h"

namespace mx::train {

namespace {

constexpr int64_t kColumns = kernels::kGuardColumns;

}  // namespace

std::string FlaggedStep::problem() const {
  if (!kernels::finite_float(norm))
    return "non-finite gradient norm (" + detail::shown(norm) + "), loss " + detail::shown(loss);
  return "non-finite loss (" + detail::shown(loss) + "), gradient norm " + detail::shown(norm);
}

StepGuard::StepGuard(int64_t max_steps, Device dev, const GuardOptions& opt)
    : opt_(opt), rows_(Tensor::zeros({std::max<int64_t>(max_steps, 1) * kColumns}, DType::F32, dev)) {}

void StepGuard::start_epoch() {
  rows_.zero();
  written_ = read_ = 0;
}

Tensor StepGuard::check(const Tensor& grads, const Tensor& loss, int64_t done) {
  MX_CHECK(done >= read_ && (done + 1) * kColumns <= rows_.numel(), "step guard: step ", done + 1,
           " lies outside the epoch's ", rows_.numel() / kColumns, " steps or before the last read");
  Tensor record = rows_.slice(done * kColumns, (done + 1) * kColumns);
  ops::step_guard(record, grads, loss, opt_.loss_decides);
  written_ = done + 1;
  return record.slice(kColumns - 1, kColumns);
}

void StepGuard::keep_buffers(const Tensor& buffers) {
  if (!may_skip()) return;
  if (!kept_.defined() || kept_.numel() != buffers.numel())
    kept_ = Tensor::empty(buffers.shape(), DType::F32, buffers.device());
  kept_.copy_from(buffers);
}

void StepGuard::restore_buffers(Tensor& buffers, const Tensor& skip) const {
  if (may_skip()) ops::restore_flagged(buffers, kept_, skip);
}

std::vector<FlaggedStep> StepGuard::read(const std::string& where, const std::string& last_good) {
  std::vector<FlaggedStep> flagged;
  if (read_ == written_) return flagged;
  const std::vector<float> rows = rows_.slice(read_ * kColumns, written_ * kColumns).to_vector<float>();
  for (size_t r = 0; read_ < written_; ++read_, ++r) {
    const float* rec = rows.data() + r * kColumns;
    if (rec[2] == 0.f) continue;
    const FlaggedStep f{read_ + 1, ++flagged_, rec[0], rec[1]};
    if (opt_.stop && f.nth > opt_.allowed_skips) stop(f, where, last_good);
    flagged.push_back(f);
  }
  return flagged;
}

std::string StepGuard::notice(const FlaggedStep& f, const std::string& where) const {
  const std::string budget = opt_.stop ? detail::concat(f.nth, " of ", opt_.allowed_skips, " allowed by --skip-nonfinite")
                                       : detail::concat(f.nth, " so far, --stop-on-nonfinite false");
  return detail::concat(where, " step ", f.step, ": ", f.problem(), "; update skipped (", budget, ")");
}

void StepGuard::stop(const FlaggedStep& f, const std::string& where, const std::string& last_good) const {
  const std::string advice = opt_.allowed_skips == 0
                                 ? "try a lower --lr, or --skip-nonfinite N to skip up to N such steps"
                                 : detail::concat("--skip-nonfinite ", opt_.allowed_skips,
                                                  " steps were skipped before this one");
  MX_FAIL(where, " step ", f.step, ": ", f.problem(), "; ", last_good, "; ", advice);
}

}  // namespace mx::train
