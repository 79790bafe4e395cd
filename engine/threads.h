// The CPU thread count, set in one place for OpenMP and Eigen so the two never disagree (an Eigen
// GEMM running more threads than OpenMP's team oversubscribes the cores and stalls on barriers), and
// how long OpenMP's idle threads spin.
#pragma once
#include <string>

namespace mx {

void set_num_threads(int n);  // n <= 0: one per core
int num_threads();

// libgomp's idle workers spin about 3 ms after every parallel region before they sleep (its default
// GOMP_SPINCOUNT of 300000). On a machine with few cores that starves every other thread and process,
// and when another process holds a core the spinning workers steal the time the working ones need
// (bench/results/cpu-2026-12-02.md: the quicknet step runs 1.4x faster with one core busy at a spin
// count of 10000, and as fast on a quiet machine). libgomp reads the setting once, when it loads, so
// a program must set it before it starts: use_short_openmp_spin() re-executes the program once with
// GOMP_SPINCOUNT=10000 unless GOMP_SPINCOUNT or OMP_WAIT_POLICY is already set (the user's choice
// wins). Call it first thing in main(); if the re-execution fails, the program goes on as it is.
void use_short_openmp_spin(char** argv);
std::string openmp_spin_count();  // GOMP_SPINCOUNT as this process runs it, or "default"

}  // namespace mx
