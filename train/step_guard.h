// Non-finite training steps (--stop-on-nonfinite, --skip-nonfinite N), kept off the host's path: after
// backward, one launch (ops::step_guard) writes the step's record {gradient norm, loss, skip flag}
// into a row of a buffer on the parameters' device, and the SGD update reads the flag
// (Sgd::step_unless), so a flagged step changes no weight and no momentum and a GPU step never waits
// for a read-back. Where a flagged step may be skipped rather than end the run, the guard also keeps a
// copy of the model's F32 buffers before each forward pass and puts it back after a flagged step, so
// that a skipped step leaves the BatchNorm running statistics as they were, too (and, once the host has
// read its record, their batch counts: nn::uncount_batch). The host reads the rows only where it reads
// the metrics (train/scores.h: progress points, the end of an epoch), counts the flagged steps over the
// run, and stops at the first one past what --skip-nonfinite allows (by default the first) with a
// one-line error naming epoch and step. Which steps are flagged: with one process, a NaN or infinite
// gradient norm or loss. With several ranks the gradient norm alone decides: the gradient has been
// averaged over the ranks when it is checked, so every rank flags the same steps and the replicas stay
// identical, while a rank's own loss could flag a step on that rank only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mx::train {

struct GuardOptions {
  int64_t allowed_skips = 0;  // --skip-nonfinite
  bool stop = true;           // --stop-on-nonfinite; false: skip every flagged step, never stop for one
  bool loss_decides = true;   // false with several ranks
};

// A flagged step: 1-based within its epoch, the nth flagged over the run, its gradient norm and loss.
struct FlaggedStep {
  int64_t step = 0, nth = 0;
  float norm = 0, loss = 0;
  std::string problem() const;  // "non-finite gradient norm (nan), loss nan"
};

class StepGuard {
 public:
  StepGuard(int64_t max_steps, Device dev, const GuardOptions& opt);
  void start_epoch();  // every row cleared, none read
  // Writes the record of the epoch's step `done` + 1 (`done` steps of the epoch came before it, as
  // rows or, after a resume in the middle of the epoch, not); returns its skip flag (one F32) for
  // Sgd::step_unless.
  Tensor check(const Tensor& grads, const Tensor& loss, int64_t done);
  // Reads the records written since the last read and returns the flagged steps among them. Throws a
  // one-line mx::Error at the first flagged step past what is allowed: "WHERE step S: PROBLEM, ...;
  // LAST_GOOD; ..." (`where`: "epoch 3"; `last_good`: where the last good weights are).
  std::vector<FlaggedStep> read(const std::string& where, const std::string& last_good);
  std::string notice(const FlaggedStep& f, const std::string& where) const;  // the skip, in one line

  // Before the step's forward pass: a copy of `buffers` (ParameterStore::buffers), where a flagged step
  // may be skipped. After check: `buffers` as they were before the forward pass if `skip` (check's
  // flag) is set, read on the device. Both do nothing where the first flagged step ends the run.
  void keep_buffers(const Tensor& buffers);
  void restore_buffers(Tensor& buffers, const Tensor& skip) const;

 private:
  [[noreturn]] void stop(const FlaggedStep& f, const std::string& where, const std::string& last_good) const;

  GuardOptions opt_;
  bool may_skip() const { return !opt_.stop || opt_.allowed_skips > 0; }

  Tensor rows_;  // [max_steps * kGuardColumns] F32 on the device
  Tensor kept_;  // the buffers before the step's forward pass, where may_skip()
  int64_t written_ = 0, read_ = 0;  // rows of this epoch up to the last written, and read
  int64_t flagged_ = 0;             // over the run
};

}  // namespace mx::train
