// Test-only device code (tests/cuda_probe.cu, built with the CUDA backend): runs the host/device
// functions of kernels/philox.h on the GPU so tests can compare them with the host's results.
#pragma once
#include <cstdint>

namespace mx::test {

// For counters 0 .. blocks-1 of (seed, stream): words[4c + k] = philox(seed, c, stream).v[k], and
// normals[4c .. 4c+3] the two normal_pair draws of those words. Device pointers; waits for the result.
void philox_on_device(uint32_t* words, float* normals, int64_t blocks, uint64_t seed, uint64_t stream);

}  // namespace mx::test
