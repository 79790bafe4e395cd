// Device-resident metric rows and the test pass.
#include "train/scores.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/batch_scores.h"

namespace mx::train {

RunningScores::RunningScores(int64_t max_batches, Device dev)
    : rows_(Tensor::zeros({std::max<int64_t>(max_batches, 1), kernels::kScoreColumns}, DType::F32, dev)) {}

void RunningScores::reset() {
  sizes_.clear();
  left_out_.clear();
  read_ = 0;
  totals_ = {};
}

void RunningScores::restore(const ScoreTotals& totals, int64_t batches) {
  MX_CHECK(batches >= 0 && batches <= rows_.size(0), "metrics: cannot continue after ", batches, " of ", rows_.size(0),
           " batches");
  sizes_.assign(static_cast<size_t>(batches), 0.0);  // rows already counted in `totals`
  left_out_.assign(static_cast<size_t>(batches), false);
  read_ = sizes_.size();
  totals_ = totals;
}

void RunningScores::add(const Tensor& loss, const Tensor& logits, const Tensor& ya, const Tensor& yb,
                        const Tensor& lam) {
  MX_CHECK(batches() < rows_.size(0), "metrics: more than ", rows_.size(0), " batches in one pass");
  Tensor row = rows_.slice(batches(), batches() + 1);
  ops::batch_scores(row, loss, logits, ya, yb, lam);
  sizes_.push_back(static_cast<double>(logits.size(0)));
  left_out_.push_back(false);
}

void RunningScores::leave_out(int64_t batch) {
  MX_CHECK(batch > static_cast<int64_t>(read_) && batch <= batches(), "metrics: batch ", batch,
           " is not among the unread batches ", read_ + 1, " to ", batches());
  left_out_[static_cast<size_t>(batch - 1)] = true;
}

const ScoreTotals& RunningScores::read(const std::string& where) {
  if (read_ == sizes_.size()) return totals_;
  const std::vector<float> rows =
      rows_.slice(static_cast<int64_t>(read_), batches()).to_vector<float>();
  for (size_t r = 0; read_ < sizes_.size(); ++read_, ++r) {
    const float* row = rows.data() + r * kernels::kScoreColumns;
    if (left_out_[read_]) continue;
    const double n = sizes_[read_];
    MX_CHECK(std::isfinite(row[0]), "training diverged: loss is ", row[0], " at ", where, " step ", read_ + 1,
             " (try a lower --lr)");
    totals_.loss_sum += row[0] * n;
    totals_.weighted += row[1];
    totals_.x1x2 += row[2];
    totals_.x2x1 += row[3];
    totals_.seen += n;
  }
  return totals_;
}

EvalResult evaluate(nn::Module& model, data::BatchSource& loader, Device dev) {
  return eval_result(evaluate_totals(model, loader, dev));
}

EvalResult eval_result(const ScoreTotals& t) { return {t.loss_sum / t.seen, t.weighted / t.seen}; }

ScoreTotals evaluate_totals(nn::Module& model, data::BatchSource& loader, Device dev) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  RunningScores scores(loader.batches_per_epoch(), dev);
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b)) {
    const Tensor y = b.labels.to(dev), ones = Tensor::full({y.numel()}, 1.f, dev);
    const Tensor logits = model(b.images.to(dev));
    scores.add(ops::mixed_cross_entropy(logits, y, y, ones), logits, y, y, ones);
  }
  model.train(was_training);
  return scores.read("evaluation");
}

}  // namespace mx::train
