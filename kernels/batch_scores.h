// Training and test metrics of one batch, computed where the logits are (launcher API), so a step
// never waits for the device to read them: the host reads a block of rows back only when it prints.
// row[0] = *loss (the batch's mean loss), and with t1, t2 the two highest logits of sample i (top2_of_row):
//   row[1] = sum_i lam[i] (t1 == ya[i]) + (1 - lam[i]) (t1 == yb[i])   (top-1 credited by label weight)
//   row[2] = #{i : t1 == ya[i] and t2 == yb[i]}                         (train-x1x2, paper Sec. III-A)
//   row[3] = #{i : t1 == yb[i] and t2 == ya[i]}                         (train-x2x1)
// The sums run in double and are rounded to float once.
#pragma once
#include <cstdint>

#include "engine/device.h"
#include "kernels/host_device.h"

namespace mx::kernels {

constexpr int kScoreColumns = 4;

// The indices of the highest and second-highest of k scores (the first of equal scores wins;
// t2 = -1 when k = 1).
MX_HD inline void top2_of_row(const float* row, int64_t k, int32_t& t1, int32_t& t2) {
  int32_t a = 0, b = -1;
  for (int32_t j = 1; j < k; ++j) {
    if (row[j] > row[a]) b = a, a = j;
    else if (b < 0 || row[j] > row[b]) b = j;
  }
  t1 = a, t2 = b;
}

// row: kScoreColumns floats; loss: one float; logits [n, k]; ya, yb [n] I32; lam [n] F32.
// Twins (engine/dispatch.h): batch_scores_cpu.cpp, batch_scores.cu (one block).
template <Device D>
void batch_scores(float* row, const float* loss, const float* logits, const int32_t* ya, const int32_t* yb,
                  const float* lam, int64_t n, int64_t k);

}  // namespace mx::kernels
