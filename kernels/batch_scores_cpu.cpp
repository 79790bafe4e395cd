// CPU twin of the batch metrics: one pass over the rows, sums in double.
#include "kernels/batch_scores.h"

namespace mx::kernels {

template <>
void batch_scores<Device::CPU>(float* row, const float* loss, const float* logits, const int32_t* ya, const int32_t* yb,
                                const float* lam, int64_t n, int64_t k) {
  double weighted = 0, x1x2 = 0, x2x1 = 0;
  for (int64_t i = 0; i < n; ++i) {
    int32_t t1, t2;
    top2_of_row(logits + i * k, k, t1, t2);
    weighted += lam[i] * (t1 == ya[i]) + (1 - lam[i]) * (t1 == yb[i]);
    x1x2 += t1 == ya[i] && t2 == yb[i];
    x2x1 += t1 == yb[i] && t2 == ya[i];
  }
  row[0] = loss[0];
  row[1] = static_cast<float>(weighted);
  row[2] = static_cast<float>(x1x2);
  row[3] = static_cast<float>(x2x1);
}

}  // namespace mx::kernels
