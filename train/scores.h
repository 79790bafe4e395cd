// Metrics that stay on the device: each step (or test batch) writes one row of kernels/batch_scores.h
// into a buffer where the logits live, and the host adds up the rows only when it reads them (the
// progress line, the end of an epoch), so a GPU step never waits for a read-back. evaluate() is the
// test pass of training and of the analyses.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/loader.h"
#include "engine/nn.h"
#include "engine/tensor.h"

namespace mx::train {

struct ScoreTotals {
  double loss_sum = 0;  // sum over samples of the batch mean loss
  double weighted = 0;  // top-1 hits credited lam to ya and 1 - lam to yb
  double x1x2 = 0, x2x1 = 0;
  double seen = 0;      // samples
};

class RunningScores {
 public:
  RunningScores(int64_t max_batches, Device dev);
  void reset();
  // One launch: the batch's row, computed from its loss, logits, labels and label weights.
  void add(const Tensor& loss, const Tensor& logits, const Tensor& ya, const Tensor& yb, const Tensor& lam);
  // Leaves a batch not yet read (1-based) out of the totals: a training step whose update was skipped
  // (train/step_guard.h).
  void leave_out(int64_t batch);
  // Reads the rows added since the last read and returns the totals so far. A non-finite loss throws,
  // naming its batch (1-based) after `where` ("epoch 3").
  const ScoreTotals& read(const std::string& where);
  int64_t batches() const { return static_cast<int64_t>(sizes_.size()); }
  // Continues a pass from the totals of its first `batches` batches (a run resumed mid-epoch).
  void restore(const ScoreTotals& totals, int64_t batches);

 private:
  Tensor rows_;  // [max_batches, kScoreColumns] F32 on the device
  std::vector<double> sizes_;
  std::vector<bool> left_out_;  // per batch
  size_t read_ = 0;
  ScoreTotals totals_;
};

struct EvalResult {
  double loss = 0, acc = 0;  // mean cross-entropy, top-1 accuracy
};
// One pass of `loader` in evaluation mode without gradients; the model's mode is restored afterwards.
EvalResult evaluate(nn::Module& model, data::BatchSource& loader, Device dev);
ScoreTotals evaluate_totals(nn::Module& model, data::BatchSource& loader, Device dev);  // the same, as sums
EvalResult eval_result(const ScoreTotals& t);

}  // namespace mx::train
