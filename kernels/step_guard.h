// The check behind `mixup train --skip-nonfinite` (launcher API): may a training step's update be
// applied? One call after backward, over the flat gradient buffer of a ParameterStore, writes the
// step's record of kGuardColumns floats:
//   rec[0] = ||g||, the 2-norm of g[0, n) (squares summed in double, the root rounded to float once;
//            infinity for a norm beyond float range)
//   rec[1] = *loss
//   rec[2] = 1 when rec[0] is not a finite float (a NaN or infinite gradient, or a norm beyond float
//            range), or when loss_decides and *loss is not finite; else 0
// rec[2] is the skip flag the SGD update reads (kernels/sgd.h). Nothing is read back here: the host
// reads the records with the metrics (train/step_guard.h). A second call, restore_flagged, puts back
// what the flagged step's forward pass changed (the BatchNorm running statistics) from a copy.
// Twins (engine/dispatch.h): step_guard_cpu.cpp, step_guard.cu (per-block partial sums, then one
// block adds them in a fixed order).
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/device.h"
#include "kernels/host_device.h"

namespace mx::kernels {

constexpr int kGuardColumns = 3;

// True for a value that is a finite float: every comparison with a NaN is false.
MX_HD inline bool finite_float(double v) { return v >= -3.4028234663852886e38 && v <= 3.4028234663852886e38; }

// The record from the sum of squares of the gradient, shared by both twins.
MX_HD inline void write_guard_record(float* rec, double sum_of_squares, float loss, bool loss_decides) {
  const double norm = sqrt(sum_of_squares);
  const bool skip = !finite_float(norm) || (loss_decides && !finite_float(loss));
  rec[0] = !finite_float(norm) && norm > 0 ? INFINITY : static_cast<float>(norm);  // not rounded to FLT_MAX
  rec[1] = loss;
  rec[2] = skip ? 1.f : 0.f;
}

template <Device D>
void step_guard(float* rec, const float* g, int64_t n, const float* loss, bool loss_decides);

// Where *flag is not 0: dst[0, n) = saved[0, n); where it is 0, nothing changes.
template <Device D>
void restore_flagged(float* dst, const float* saved, int64_t n, const float* flag);

}  // namespace mx::kernels
