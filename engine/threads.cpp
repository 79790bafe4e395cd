// OpenMP and Eigen thread counts, kept equal, and the spin count of OpenMP's idle threads.
#include "engine/threads.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include <Eigen/Core>

namespace mx {

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int num_threads() { return omp_get_max_threads(); }

void use_short_openmp_spin(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  setenv("GOMP_SPINCOUNT", "10000", 1);
  execv("/proc/self/exe", argv);  // returns only when it fails
}

std::string openmp_spin_count() {
  const char* v = std::getenv("GOMP_SPINCOUNT");
  return v ? v : "default";
}

}  // namespace mx
