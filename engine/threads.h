// The CPU thread count, set in one place for OpenMP and Eigen so the two never disagree (an Eigen
// GEMM running more threads than OpenMP's team oversubscribes the cores and stalls on barriers).
#pragma once

namespace mx {

void set_num_threads(int n);  // n <= 0: one per core
int num_threads();

}  // namespace mx
