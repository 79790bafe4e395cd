// MX_HD marks small functions that both twins of a kernel share: __host__ __device__ under nvcc,
// plain inline functions in host code.
#pragma once

#ifdef __CUDACC__
#define MX_HD __host__ __device__
#else
#define MX_HD
#endif
