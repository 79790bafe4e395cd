// OpenMP and Eigen thread counts, kept equal.
#include "engine/threads.h"

#include <omp.h>

#include <Eigen/Core>

namespace mx {

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace mx
